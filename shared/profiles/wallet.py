"""Wallet addresses in their EIP-55 checksum form."""

from __future__ import annotations

import re

from Crypto.Hash import keccak

from shared.errors import InvalidInput

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


class InvalidWallet(InvalidInput):
    code = "invalid_wallet"
    title = "Not a wallet address"


def to_checksum_address(address: str) -> str:
    """``0xabc...`` in any case -> its EIP-55 form; raises :class:`InvalidWallet`."""
    address = (address or "").strip()
    if not _ADDRESS.fullmatch(address):
        raise InvalidWallet("a wallet is 0x followed by 40 hex digits")
    lower = address[2:].lower()
    digest = keccak.new(digest_bits=256, data=lower.encode()).hexdigest()
    return "0x" + "".join(ch.upper() if int(digest[i], 16) >= 8 else ch for i, ch in enumerate(lower))
