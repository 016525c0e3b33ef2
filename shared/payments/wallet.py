"""Wallet addresses in their EIP-55 checksum form."""

from __future__ import annotations

import re

from shared.errors import InvalidInput

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
# What web3's is_address takes as text: 40 hex digits, the 0x prefix optional.
_HEX_ADDRESS = re.compile(r"(?:0[xX])?([0-9a-fA-F]{40})")


class InvalidWallet(InvalidInput):
    code = "invalid_wallet"
    title = "Not a wallet address"


def to_checksum_address(address: str) -> str:
    """``0xabc...`` in any case -> its EIP-55 form; raises :class:`InvalidWallet`."""
    address = (address or "").strip()
    if not _ADDRESS.fullmatch(address):
        raise InvalidWallet("a wallet is 0x followed by 40 hex digits")
    lower = address[2:].lower()
    # Imported on first use: pycryptodome loads its C code through cffi (~1.5 MB resident), which a
    # web worker that never sees a wallet address does not need.
    from Crypto.Hash import keccak

    digest = keccak.new(digest_bits=256, data=lower.encode()).hexdigest()
    return "0x" + "".join(ch.upper() if int(digest[i], 16) >= 8 else ch for i, ch in enumerate(lower))


def is_address(value: str) -> bool:
    """Whether ``value`` is an address the way web3's ``is_address`` judges text: 40 hex digits,
    optionally after ``0x``, in any case (web3 8 does not check a mixed-case checksum here either)."""
    return isinstance(value, str) and _HEX_ADDRESS.fullmatch(value) is not None


def checksum_of(value: str) -> str:
    """The EIP-55 form of an address that :func:`is_address` accepts; raises :class:`InvalidWallet`."""
    if not is_address(value):
        raise InvalidWallet("a wallet is 0x followed by 40 hex digits")
    return to_checksum_address("0x" + value[-40:])
