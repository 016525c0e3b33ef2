"""A test wallet for the pages: an EIP-1193 provider injected as ``window.ethereum``, answered by
a dev-chain account in the test process, as MetaMask would answer (accounts, chain switching,
``personal_sign``, ``eth_sendTransaction`` signed with the account's key and sent to the chain).

The page's own code makes every call; the test only decides what the "user" approves.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from web3 import Web3

_INIT_SCRIPT = """
(() => {
  const listeners = {};
  const emit = (event, value) => (listeners[event] || []).forEach((fn) => { try { fn(value); } catch (e) {} });
  window.ethereum = {
    isMetaMask: true,
    async request({ method, params }) {
      const answer = JSON.parse(await window.__testWallet(JSON.stringify({ method, params: params || [] })));
      if (answer.error) {
        const error = new Error(answer.error.message);
        error.code = answer.error.code;
        throw error;
      }
      if (answer.event) emit(answer.event.name, answer.event.value);
      return answer.result;
    },
    on(event, fn) { (listeners[event] = listeners[event] || []).push(fn); },
    removeListener(event, fn) { listeners[event] = (listeners[event] || []).filter((f) => f !== fn); },
  };
  window.dispatchEvent(new Event("ethereum#initialized"));
})();
"""


@dataclass
class InjectedWallet:
    """What the wallet holds and what the page asked of it (``calls``, in order)."""

    private_key: str
    rpc_url: str
    chain_id: int = 1  # like a fresh MetaMask on mainnet: the page must ask to switch
    connected: bool = False
    reject: set[str] = field(default_factory=set)  # methods the "user" refuses (code 4001)
    calls: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return Account.from_key(self.private_key).address

    def install(self, context) -> None:
        """Give every page of the Playwright ``context`` this wallet as ``window.ethereum``."""
        context.expose_binding("__testWallet", lambda _source, payload: json.dumps(self._answer(json.loads(payload))))
        context.add_init_script(_INIT_SCRIPT)

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        method, params = request["method"], request["params"]
        self.calls.append(method)
        if method in self.reject:
            return {"error": {"code": 4001, "message": "User rejected the request."}}
        try:
            return self._handle(method, params)
        except Exception as exc:  # noqa: BLE001 - what MetaMask reports as an internal JSON-RPC error
            return {"error": {"code": -32603, "message": str(exc)}}

    def _handle(self, method: str, params: list[Any]) -> dict[str, Any]:
        if method == "eth_requestAccounts":
            self.connected = True
            return {"result": [self.address], "event": {"name": "accountsChanged", "value": [self.address]}}
        if method == "eth_accounts":
            return {"result": [self.address] if self.connected else []}
        if method == "eth_chainId":
            return {"result": hex(self.chain_id)}
        if method == "wallet_switchEthereumChain":
            wanted = int(params[0]["chainId"], 16)
            if wanted != self._web3().eth.chain_id:
                return {"error": {"code": 4902, "message": f"Unrecognized chain ID {params[0]['chainId']}."}}
            self.chain_id = wanted
            return {"result": None, "event": {"name": "chainChanged", "value": hex(wanted)}}
        if not self.connected:
            return {"error": {"code": 4100, "message": "The requested account has not been authorized."}}
        if method == "personal_sign":
            message, address = params
            assert address.lower() == self.address.lower(), (address, self.address)
            data = bytes.fromhex(message[2:]) if message.startswith("0x") else message.encode()
            signature = Account.sign_message(encode_defunct(primitive=data), private_key=self.private_key)
            return {"result": signature.signature.to_0x_hex()}
        if method == "eth_sendTransaction":
            return {"result": self._send(params[0])}
        return {"error": {"code": 4200, "message": f"The test wallet does not support {method}."}}

    def _send(self, tx: dict[str, Any]) -> str:
        web3 = self._web3()
        if self.chain_id != web3.eth.chain_id:
            raise RuntimeError(f"the wallet is on chain {self.chain_id}, the node on {web3.eth.chain_id}")
        assert tx["from"].lower() == self.address.lower(), tx
        signed = Account.from_key(self.private_key).sign_transaction({
            "to": Web3.to_checksum_address(tx["to"]), "value": int(tx.get("value", "0x0"), 16),
            "data": tx.get("data", "0x"), "gas": int(tx["gas"], 16) if "gas" in tx else 21_000,
            "chainId": self.chain_id, "nonce": web3.eth.get_transaction_count(self.address, "pending"),
            "maxFeePerGas": 2 * web3.eth.gas_price + 2 * 10**9,
            "maxPriorityFeePerGas": 10**9 + secrets.randbelow(10**6)})
        tx_hash = web3.eth.send_raw_transaction(signed.raw_transaction).to_0x_hex()
        self.sent.append(tx_hash)
        return tx_hash

    def _web3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": 10}))
