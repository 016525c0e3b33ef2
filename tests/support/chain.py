"""Chains for payment tests: web3's in-process tester chain, and anvil (a real JSON-RPC node)
from the npm registry on loopback, plus helpers to pay and to deploy the test ERC-20."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

from eth_abi import encode as abi_encode
from eth_account import Account
from web3 import Web3

from shared.payments.devchain import ACCOUNTS, CHAIN_ID

ROOT = Path(__file__).resolve().parents[2]
DEVCHAIN_DIR = ROOT / ".devchain"
ANVIL_VERSION = "1.7.1"
TOKEN = json.loads((Path(__file__).parent / "contracts" / "TestToken.json").read_text())


def anvil_binary() -> Path:
    """The anvil binary of ``@foundry-rs/anvil`` under .devchain/ (tests/services.sh installs it)."""
    found = sorted(DEVCHAIN_DIR.glob("node_modules/@foundry-rs/anvil-*/bin/anvil"))
    if not found and shutil.which("npm"):
        subprocess.run(["npm", "i", "--no-save", "--no-audit", "--no-fund", f"@foundry-rs/anvil@{ANVIL_VERSION}"],
                       cwd=DEVCHAIN_DIR if DEVCHAIN_DIR.is_dir() else _mkdir(DEVCHAIN_DIR), check=True,
                       stdout=subprocess.DEVNULL, timeout=300)
        found = sorted(DEVCHAIN_DIR.glob("node_modules/@foundry-rs/anvil-*/bin/anvil"))
    if not found:
        raise RuntimeError("anvil is not installed: run `bash tests/services.sh` (needs npm)")
    return found[0]


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Anvil:
    """A running anvil process with the dev mnemonic's funded accounts."""

    def __init__(self, *, chain_id: int = CHAIN_ID):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(anvil_binary()), "--host", "127.0.0.1", "--port", str(self.port), "--chain-id", str(chain_id),
             "--accounts", str(len(ACCOUNTS)), "--silent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.web3 = Web3(Web3.HTTPProvider(self.url))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if self.web3.is_connected():
                    return
            except Exception:  # noqa: BLE001, S110 - anvil still starting: retried until the deadline
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("anvil did not start")

    def rpc(self, method: str, params: list) -> object:
        response = self.web3.provider.make_request(method, params)
        if "error" in response:
            raise RuntimeError(response["error"])
        return response.get("result")

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", [hex(blocks)])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def send(web3: Web3, key: str, to: str | None, value: int = 0, *, data: str = "0x", chain_id: int = CHAIN_ID,
         gas: int = 21_000) -> str:
    """Sign and send a transaction from the account of ``key``; return its hash (0x, lower case)."""
    account = Account.from_key(key)
    tx = {"to": to, "value": value, "gas": gas, "nonce": web3.eth.get_transaction_count(account.address, "pending"),
          "maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9, "chainId": chain_id, "data": data}
    if to is None:
        del tx["to"]
    raw = account.sign_transaction(tx).raw_transaction
    tx_hash = web3.eth.send_raw_transaction(raw).to_0x_hex().lower()
    # anvil's automine mines in a task of its own: the hash comes back before the block exists, and a
    # loaded machine widens that gap. A node that automines has the transaction in a block on return
    # here, as the tests mean; with automine off (a test's no_automine) it stays in the mempool.
    if web3.provider.make_request("anvil_getAutomine", []).get("result"):
        web3.eth.wait_for_transaction_receipt(tx_hash, timeout=20)
    return tx_hash


def pay(web3: Web3, key: str, to: str, value: int, **kwargs) -> str:
    return send(web3, key, to, value, **kwargs)


def deploy_token(web3: Web3, key: str, name: str = "USD Coin", symbol: str = "USDC", supply: int = 10**12) -> str:
    """Deploy the test ERC-20 from ``key`` (who holds the whole supply); return its address."""
    data = TOKEN["bytecode"] + abi_encode(["string", "string", "uint256"], [name, symbol, supply]).hex()
    tx_hash = send(web3, key, None, data=data, gas=2_000_000)
    return web3.eth.wait_for_transaction_receipt(tx_hash, timeout=20)["contractAddress"]


def transfer_token(web3: Web3, key: str, token: str, to: str, amount: int, *, gas: int = 100_000) -> str:
    contract = web3.eth.contract(address=token, abi=TOKEN["abi"])
    data = contract.functions.transfer(to, amount)._encode_transaction_data()
    return send(web3, key, token, data=data, gas=gas)
