"""A command-line wallet for the embedded default: sign in and pay with a dev-chain account.

    python -m shared.payments.devwallet login                      # prints a wallet token
    python -m shared.payments.devwallet pay SUBMISSION_ID --token T  # pays the quote, posts the tx hash

It reads the dev chain (RPC URL, funded accounts) from ``GET /api/dev/chain/``, so it
needs nothing but the API's URL (``--api``, default http://127.0.0.1:8000) and the
account to use (``--account N``, default 0). Dev keys only: never use it with real money.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from typing import Any

import requests
from eth_account import Account
from eth_account.messages import encode_defunct
from web3 import Web3


def dev_chain(api: str) -> dict[str, Any]:
    response = requests.get(f"{api}/api/dev/chain/", timeout=10)
    response.raise_for_status()
    return response.json()


def login(api: str, private_key: str) -> str:
    """Sign the server's EIP-4361 message with ``private_key``; return the bearer token."""
    address = Account.from_key(private_key).address
    nonce = requests.get(f"{api}/api/auth/nonce/", params={"address": address}, timeout=10)
    nonce.raise_for_status()
    message = nonce.json()["message"]
    signature = Account.sign_message(encode_defunct(text=message), private_key=private_key).signature.to_0x_hex()
    response = requests.post(f"{api}/api/auth/login/", json={"message": message, "signature": signature}, timeout=10)
    response.raise_for_status()
    return response.json()["token"]


def pay(api: str, rpc_url: str, private_key: str, token: str, submission_id: str) -> dict[str, Any]:
    """Send the quoted amount to the quoted receiver and post the tx hash; return the API's answer."""
    headers = {"Authorization": f"Bearer {token}"}
    submission = requests.get(f"{api}/api/submissions/{submission_id}/", headers=headers, timeout=10)
    submission.raise_for_status()
    quote = submission.json()["quote"]
    web3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
    account = Account.from_key(private_key)
    tx = {"to": quote["to"], "value": int(quote["amount_wei"]), "gas": 21_000, "chainId": quote["chain_id"],
          "nonce": web3.eth.get_transaction_count(account.address, "pending"),
          "maxFeePerGas": 2 * web3.eth.gas_price + 2 * 10**9,
          # The dev chain starts from genesis on every `make run` while the database remembers the
          # tx hashes it saw: a random tip keeps the same payment from getting the same hash again.
          "maxPriorityFeePerGas": 10**9 + secrets.randbelow(10**6)}
    tx_hash = web3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction).to_0x_hex()
    response = requests.post(f"{api}/api/submissions/{submission_id}/payment/", headers=headers,
                             json={"tx_hash": tx_hash}, timeout=30)
    return {"tx_hash": tx_hash, "status_code": response.status_code, **response.json()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.payments.devwallet", description=__doc__.split("\n")[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--account", type=int, default=0, help="index into GET /api/dev/chain/ accounts")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("login", help="sign in; prints the wallet token")
    paying = sub.add_parser("pay", help="pay a submission's quote and post the tx hash")
    paying.add_argument("submission_id")
    paying.add_argument("--token", help="wallet token (default: sign in now)")
    args = parser.parse_args(argv)
    api = args.api.rstrip("/")
    chain = dev_chain(api)
    account = chain["accounts"][args.account]
    if args.command == "login":
        print(login(api, account["private_key"]))
        return
    token = args.token or login(api, account["private_key"])
    result = pay(api, chain["rpc_url"], account["private_key"], token, args.submission_id)
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["status_code"] == 202 else 1)


if __name__ == "__main__":
    main()
