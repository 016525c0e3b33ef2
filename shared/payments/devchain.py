"""The local dev chain of the embedded default: funded test accounts and a JSON-RPC server.

``python -m shared.payments.devchain --port 8545`` serves a chain held in memory by
web3's ``EthereumTesterProvider`` (py-evm) over plain HTTP JSON-RPC, so ``make run``
needs nothing but Python. Its accounts are the well-known ones of the test mnemonic
``test test ... junk`` that anvil and hardhat fund too, so scripts and browser wallets
work the same against either. Chain id 31337, like anvil. A block is mined every
``DEV_CHAIN_BLOCK_SECONDS`` so that payments gather confirmations.

These keys are public: never send real money to them.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shared.settings import get_settings

CHAIN_ID = 31337
MNEMONIC = "test test test test test test test test test test test junk"
HD_PATH = "m/44'/60'/0'/0"
# (address, private key) of the mnemonic's first ten accounts, each funded at genesis.
ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
    ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
    ("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"),
    ("0x90F79bf6EB2c4f870365E785982E1f101E93b906", "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"),
    ("0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65", "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"),
    ("0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc", "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"),
    ("0x976EA74026E726554dB657fA54763abd0C3a0aa9", "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e"),
    ("0x14dC79964da2C08b23698B3D3cc7Ca32193d9955", "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356"),
    ("0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f", "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97"),
    ("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720", "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"),
)
# The embedded default's receiver when PAYMENT_RECEIVER is empty; the others are payers.
RECEIVER = ACCOUNTS[-1][0]
PAYERS = ACCOUNTS[:-1]

log = logging.getLogger(__name__)

# Keys web3's tester formatting leaves in Python style.
_WIRE_KEYS = {"y_parity": "yParity"}


def tester_provider(*, chain_id: int = CHAIN_ID, accounts: int = len(ACCOUNTS)):
    """An in-process chain (py-evm) with the dev accounts funded and the given chain id."""
    from eth_tester import EthereumTester, PyEVMBackend
    from web3 import EthereumTesterProvider
    from web3.providers.eth_tester.defaults import API_ENDPOINTS, static_return

    backend = PyEVMBackend.from_mnemonic(MNEMONIC, num_accounts=accounts, hd_path=HD_PATH)
    # py-evm keeps the chain id on a class made per backend; web3 answers eth_chainId from a constant.
    type(backend.chain).chain_id = chain_id
    endpoints = {**API_ENDPOINTS, "eth": {**API_ENDPOINTS["eth"], "chainId": static_return(chain_id)}}
    return EthereumTesterProvider(EthereumTester(backend), api_endpoints=endpoints)


def to_wire(value: Any) -> Any:
    """web3's Python values -> JSON-RPC wire values (hex quantities and data)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {_WIRE_KEYS.get(key, key): to_wire(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(item) for item in value]
    return str(value)


class DevChain:
    """A web3 instance on the tester chain behind one lock (py-evm is not thread-safe)."""

    def __init__(self, chain_id: int = CHAIN_ID):
        from web3 import Web3

        self.provider = tester_provider(chain_id=chain_id)
        self.web3 = Web3(self.provider)
        self.lock = threading.Lock()

    def call(self, method: str, params: list[Any]) -> Any:
        with self.lock:
            if method in ("evm_mine", "anvil_mine"):
                count = int(params[0], 16) if params and isinstance(params[0], str) else int(params[0] if params else 1)
                self.provider.ethereum_tester.mine_blocks(max(1, count))
                return "0x0"
            return self.web3.manager.request_blocking(method, params)

    def mine(self) -> None:
        with self.lock:
            self.provider.ethereum_tester.mine_blocks(1)


def _handler(chain: DevChain):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                return self._send({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
            if isinstance(body, list):
                return self._send([self._answer(item) for item in body])
            return self._send(self._answer(body))

        def do_OPTIONS(self):
            self.send_response(204)
            self._cors()
            self.end_headers()

        def _answer(self, request: Any) -> dict[str, Any]:
            if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "invalid request"}}
            try:
                result = chain.call(request["method"], list(request.get("params") or []))
            except Exception as exc:  # noqa: BLE001 - boundary: any error becomes a JSON-RPC error, as real nodes answer
                message = str(exc.args[0]) if getattr(exc, "args", None) else type(exc).__name__
                if isinstance(exc.args[0] if exc.args else None, dict):
                    message = exc.args[0].get("message", message)
                return {"jsonrpc": "2.0", "id": request.get("id"), "error": {"code": -32000, "message": message}}
            return {"jsonrpc": "2.0", "id": request.get("id"), "result": to_wire(result)}

        def _send(self, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self._cors()
            self.end_headers()
            self.wfile.write(data)

        def _cors(self) -> None:
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")

        def log_message(self, *args):  # quiet: the supervisor prints every process' output
            pass

    return Handler


def serve(host: str, port: int, *, block_seconds: float, stop: threading.Event | None = None,
          ready: threading.Event | None = None, chain: DevChain | None = None) -> None:
    """Serve the dev chain until ``stop`` is set (or forever)."""
    chain = chain or DevChain()
    server = ThreadingHTTPServer((host, port), _handler(chain))
    server.daemon_threads = True
    stop = stop or threading.Event()

    def mine_blocks() -> None:
        while not stop.wait(block_seconds):
            chain.mine()

    if block_seconds > 0:
        threading.Thread(target=mine_blocks, daemon=True, name="devchain-miner").start()
    threading.Thread(target=lambda: (stop.wait(), server.shutdown()), daemon=True).start()
    if ready is not None:
        ready.set()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    import signal

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m shared.payments.devchain")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.DEV_CHAIN_PORT)
    parser.add_argument("--block-seconds", type=float, default=settings.DEV_CHAIN_BLOCK_SECONDS)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    chain = DevChain()
    print(f"dev chain (chain id {CHAIN_ID}) on http://{args.host}:{args.port}; funded accounts: "
          f"{', '.join(address for address, _ in PAYERS)}; receiver {RECEIVER}", flush=True)
    serve(args.host, args.port, block_seconds=args.block_seconds, stop=stop, chain=chain)


if __name__ == "__main__":
    main()
