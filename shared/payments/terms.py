"""What the platform asks for: receiver, price, chain, accepted tokens, confirmations."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.payments import devchain
from shared.payments.errors import InvalidSettings, PaymentsNotConfigured
from shared.payments.wallet import checksum_of, is_address
from shared.settings import Settings

DEV_CHAIN_ID = 31337  # the local dev chain of `make run` and anvil (shared/payments/devchain.py)


@dataclass(frozen=True)
class PaymentTerms:
    receiver: str
    price_wei: int
    chain_id: int
    confirmations: int
    # Allow-listed ERC-20 contract (checksum address) -> price in the token's smallest unit.
    tokens: dict[str, int] = field(default_factory=dict)


def parse_tokens(raw: str) -> dict[str, int]:
    """``"0xToken:1000000, 0xOther:5"`` -> ``{checksum address: price}``; raises InvalidSettings."""
    tokens: dict[str, int] = {}
    for item in (part.strip() for part in (raw or "").split(",")):
        if not item:
            continue
        address, _, price = item.partition(":")
        if not is_address(address.strip()) or not price.strip().isdigit() or int(price) <= 0:
            raise InvalidSettings(f"PAYMENT_TOKENS entry {item!r} is not 'contract:price'")
        tokens[checksum_of(address.strip())] = int(price)
    return tokens


def terms_from_settings(settings: Settings) -> PaymentTerms:
    """The terms of new quotes; production must name its receiver (no default address takes money)."""
    receiver = settings.PAYMENT_RECEIVER.strip()
    if not receiver:
        if settings.is_production:
            raise PaymentsNotConfigured("PAYMENT_RECEIVER is not set")
        receiver = devchain.RECEIVER
    if not is_address(receiver):
        raise PaymentsNotConfigured("PAYMENT_RECEIVER is not an address")
    return PaymentTerms(receiver=checksum_of(receiver), price_wei=settings.PAYMENT_PRICE_WEI,
                        chain_id=settings.PAYMENT_CHAIN_ID, confirmations=max(1, settings.PAYMENT_CONFIRMATIONS),
                        tokens=parse_tokens(settings.PAYMENT_TOKENS))


def uses_finalized_tag(settings: Settings, chain_id: int) -> bool:
    """Whether a payment on ``chain_id`` is final by the node's finalized block (else by confirmations)."""
    if settings.PAYMENT_FINALITY == "auto":
        # A dev node has no consensus: its "finalized" is a fiction (anvil: head - 64, web3's tester: head).
        return chain_id != DEV_CHAIN_ID
    return settings.PAYMENT_FINALITY == "finalized"
