"""What the payment rules need to know from a chain, read through web3.py.

:class:`Chain` is the adapter: it returns plain dataclasses (no web3 types) and
turns every web3, HTTP or decoding failure into :class:`ChainUnavailable`, a
transient error (the payment is checked again later). Any web3 provider works:
``HTTPProvider`` on ``ETH_RPC_URL`` in production and the dev chain,
``EthereumTesterProvider`` in fast unit tests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.payments.errors import ChainUnavailable, PaymentsNotConfigured
from shared.settings import Settings

log = logging.getLogger(__name__)

# web3 and requests (~50 MB resident together) are imported when a chain is first used, not when
# the web process starts: most requests never touch a chain.

T = TypeVar("T")


@dataclass(frozen=True)
class Tx:
    hash: str
    sender: str
    to: str | None
    value: int
    chain_id: int | None      # None: a legacy transaction without replay protection (pre EIP-155)
    block_number: int | None  # None while it waits in the mempool
    block_hash: str | None


@dataclass(frozen=True)
class Log:
    address: str
    topics: tuple[str, ...]
    data: str


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    status: int
    block_number: int
    block_hash: str
    logs: tuple[Log, ...]


@dataclass(frozen=True)
class Block:
    number: int
    hash: str
    timestamp: int


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value).lower()


def _address(value: Any) -> str | None:
    from web3 import Web3

    return Web3.to_checksum_address(value) if value else None


class Chain:
    """Read-only facts about transactions and blocks of one chain."""

    def __init__(self, provider: Any):
        from web3 import Web3

        self.web3 = Web3(provider)

    def _call(self, what: str, function: Callable[[], T]) -> T:
        import requests
        from web3.exceptions import Web3Exception

        try:
            return function()
        except (Web3Exception, requests.RequestException, OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("chain: %s failed: %s: %s", what, type(exc).__name__, exc)
            raise ChainUnavailable(f"the chain did not answer {what}: {type(exc).__name__}") from None

    def chain_id(self) -> int:
        return self._call("eth_chainId", lambda: int(self.web3.eth.chain_id))

    def head(self) -> int:
        """The number of the latest block."""
        return self._call("eth_blockNumber", lambda: int(self.web3.eth.block_number))

    def transaction(self, tx_hash: str) -> Tx | None:
        def read() -> Tx | None:
            from web3.exceptions import TransactionNotFound

            try:
                tx = self.web3.eth.get_transaction(tx_hash)
            except TransactionNotFound:
                return None
            if tx is None:
                return None
            chain_id = tx.get("chainId")
            return Tx(hash=_hex(tx["hash"]), sender=_address(tx["from"]), to=_address(tx.get("to")),
                      value=int(tx["value"]), chain_id=int(chain_id) if chain_id is not None else None,
                      block_number=tx.get("blockNumber"),
                      block_hash=_hex(tx["blockHash"]) if tx.get("blockHash") else None)

        return self._call("eth_getTransactionByHash", read)

    def receipt(self, tx_hash: str) -> Receipt | None:
        def read() -> Receipt | None:
            from web3.exceptions import TransactionNotFound

            try:
                receipt = self.web3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                return None
            if receipt is None:
                return None
            logs = tuple(Log(address=_address(entry["address"]), topics=tuple(_hex(t) for t in entry["topics"]),
                             data=_hex(entry["data"])) for entry in receipt["logs"])
            return Receipt(tx_hash=_hex(receipt["transactionHash"]), status=int(receipt["status"]),
                           block_number=int(receipt["blockNumber"]), block_hash=_hex(receipt["blockHash"]),
                           logs=logs)

        return self._call("eth_getTransactionReceipt", read)

    def block(self, number: int) -> Block | None:
        """The canonical block at ``number`` (None when the chain is not that long)."""
        def read() -> Block | None:
            from web3.exceptions import BlockNotFound

            try:
                block = self.web3.eth.get_block(number)
            except BlockNotFound:
                return None
            if block is None:
                return None
            return Block(number=int(block["number"]), hash=_hex(block["hash"]), timestamp=int(block["timestamp"]))

        return self._call("eth_getBlockByNumber", read)

    def finalized(self) -> int | None:
        """The number of the node's ``finalized`` block; None when the node has no such tag."""
        def read() -> int | None:
            from web3.exceptions import BlockNotFound, Web3RPCError

            try:
                block = self.web3.eth.get_block("finalized")
            except (BlockNotFound, Web3RPCError):  # the node answered, but knows no finalized tag
                return None
            return int(block["number"]) if block is not None else None

        return self._call("eth_getBlockByNumber(finalized)", read)


def chain_from_settings(settings: Settings) -> Chain:
    """The chain at ``ETH_RPC_URL``; raises :class:`PaymentsNotConfigured` when it is unset."""
    if not settings.ETH_RPC_URL:
        raise PaymentsNotConfigured("ETH_RPC_URL is not set; `make run` starts a local dev chain and sets it")
    from web3 import Web3

    # No retries inside web3: a pending payment is checked again by the light queue.
    provider = Web3.HTTPProvider(settings.ETH_RPC_URL, request_kwargs={"timeout": settings.ETH_RPC_TIMEOUT},
                                 exception_retry_configuration=None)
    return Chain(provider)
