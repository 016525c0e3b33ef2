"""The Python dev chain of `make run` speaks JSON-RPC like a real node (hex on the wire, batches, errors)."""

from __future__ import annotations

import threading

import pytest
import requests
from web3 import Web3

from shared.payments.chain import Chain
from shared.payments.devchain import ACCOUNTS, CHAIN_ID, RECEIVER, DevChain, serve
from tests.support.chain import free_port, pay


@pytest.fixture(scope="module")
def node():
    port, stop, ready = free_port(), threading.Event(), threading.Event()
    thread = threading.Thread(target=serve, args=("127.0.0.1", port),
                              kwargs={"block_seconds": 0.2, "stop": stop, "ready": ready, "chain": DevChain()},
                              daemon=True)
    thread.start()
    ready.wait(10)
    yield f"http://127.0.0.1:{port}"
    stop.set()
    thread.join(timeout=10)


def test_a_signed_payment_is_mined_and_gathers_confirmations_over_http(node):
    web3 = Web3(Web3.HTTPProvider(node))
    assert web3.eth.chain_id == CHAIN_ID and web3.eth.get_balance(ACCOUNTS[0][0]) > 10**21
    tx_hash = pay(web3, ACCOUNTS[0][1], RECEIVER, 12345)
    chain = Chain(Web3.HTTPProvider(node))
    tx, receipt = chain.transaction(tx_hash), chain.receipt(tx_hash)
    assert (tx.sender, tx.to, tx.value, tx.chain_id) == (ACCOUNTS[0][0], RECEIVER, 12345, CHAIN_ID)
    assert receipt.status == 1 and chain.block(receipt.block_number).hash == receipt.block_hash
    head = chain.head()
    Web3(Web3.HTTPProvider(node)).provider.make_request("evm_mine", [])
    assert chain.head() > head


def test_the_wire_format_is_hex_and_batches_and_errors_are_json_rpc(node):
    answer = requests.post(node, json=[{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                                       {"jsonrpc": "2.0", "id": 2, "method": "eth_getBalance",
                                        "params": [RECEIVER, "latest"]}], timeout=10).json()
    assert answer[0] == {"jsonrpc": "2.0", "id": 1, "result": hex(CHAIN_ID)}
    assert answer[1]["result"].startswith("0x")
    error = requests.post(node, json={"jsonrpc": "2.0", "id": 3, "method": "eth_nope", "params": []}, timeout=10)
    assert error.status_code == 200 and error.json()["error"]["code"] == -32000
    assert requests.post(node, data=b"{", timeout=10).json()["error"]["code"] == -32700
