"""The rules a transaction must pass to pay for a submission (SPEC 6).

:func:`verify_payment` reads the chain and answers :class:`Confirmed` or
:class:`Pending`, or raises a :class:`~shared.payments.errors.PaymentRefused`
with the reason. It is called when the client posts the tx hash, by the light
queue while the payment is pending, and once more before the expensive convert
(a reorg may have dropped the transaction since).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.payments import errors
from shared.payments.chain import Chain, Receipt, Tx

# keccak("Transfer(address,address,uint256)"): the ERC-20 Transfer event.
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


@dataclass(frozen=True)
class Expectation:
    """One submission's quote and who must pay it."""

    wallet: str               # checksum address of the signed-in payer
    receiver: str
    amount_wei: int
    chain_id: int
    confirmations: int        # blocks needed when finality comes from confirmations
    expires_at: datetime
    tokens: dict[str, int] = field(default_factory=dict)  # allow-listed contract -> price
    finalized_tag: bool = False  # final by the node's finalized block where it reports a useful one


@dataclass(frozen=True)
class Confirmed:
    block_number: int
    block_hash: str
    confirmations: int
    asset: str        # "ETH" or the token contract address
    amount: int
    final_by: str = "confirmations"  # or "finalized": the node's finalized block covers it

    def as_dict(self) -> dict:
        return {"block_number": self.block_number, "block_hash": self.block_hash,
                "confirmations": self.confirmations, "asset": self.asset, "amount": str(self.amount),
                "final_by": self.final_by}


@dataclass(frozen=True)
class Pending:
    reason: str             # not_found | in_mempool | confirmations | finality | not_canonical
    confirmations: int = 0
    needed: int = 0

    def as_dict(self) -> dict:
        return {"reason": self.reason, "confirmations": self.confirmations, "needed": self.needed}


Verification = Confirmed | Pending


def verify_payment(chain: Chain, expect: Expectation, tx_hash: str) -> Verification:
    """Check ``tx_hash`` against ``expect``; raises a PaymentRefused subclass or ChainUnavailable."""
    node_chain = chain.chain_id()
    if node_chain != expect.chain_id:
        raise errors.PaymentWrongChain(f"the node is on chain {node_chain}, the quote is for chain {expect.chain_id}")
    tx = chain.transaction(tx_hash)
    if tx is None:
        return Pending("not_found")
    _check_envelope(tx, expect)
    if tx.block_number is None:
        if tx.to == expect.receiver and tx.value < expect.amount_wei:
            _underpaid(tx.value, expect.amount_wei, "wei")
        return Pending("in_mempool")
    receipt = chain.receipt(tx_hash)
    if receipt is None:
        return Pending("in_mempool")
    if receipt.status != 1:
        raise errors.PaymentFailedTx("the transaction reverted (receipt status 0); its value was not transferred")
    asset, amount = _paid_amount(tx, receipt, expect)
    block = chain.block(receipt.block_number)
    if block is None or block.hash != receipt.block_hash:
        # The receipt names a block the chain no longer has at that height: reorged out for now.
        return Pending("not_canonical")
    if block.timestamp > int(expect.expires_at.timestamp()):
        raise errors.PaymentQuoteExpired(f"the transaction was mined after the quote expired "
                                         f"({expect.expires_at.isoformat()}); ask for a new quote")
    head = chain.head()
    confirmations = head - receipt.block_number + 1
    finalized = _useful_finalized(chain, head) if expect.finalized_tag else None
    if finalized is not None:
        if receipt.block_number > finalized:
            return Pending("finality", confirmations, confirmations + receipt.block_number - finalized)
        return Confirmed(receipt.block_number, receipt.block_hash, confirmations, asset, amount, "finalized")
    if confirmations < expect.confirmations:
        return Pending("confirmations", confirmations, expect.confirmations)
    return Confirmed(receipt.block_number, receipt.block_hash, confirmations, asset, amount)


def _useful_finalized(chain: Chain, head: int) -> int | None:
    """The node's finalized block if it says something: past genesis (anvil's first 64 blocks report
    genesis) and behind the head (a node calling its head final, like web3's tester chain, has no consensus)."""
    finalized = chain.finalized()
    return finalized if finalized is not None and 0 < finalized < head else None


def _check_envelope(tx: Tx, expect: Expectation) -> None:
    if tx.chain_id is None:
        raise errors.PaymentWrongChain("the transaction has no chain id (not replay-protected, EIP-155)")
    if tx.chain_id != expect.chain_id:
        raise errors.PaymentWrongChain(f"the transaction is for chain {tx.chain_id}, the quote for {expect.chain_id}")
    if tx.sender != expect.wallet:
        raise errors.PaymentWrongSender(f"the transaction was sent by {tx.sender}, not by the signed-in "
                                        f"wallet {expect.wallet}")


def _paid_amount(tx: Tx, receipt: Receipt, expect: Expectation) -> tuple[str, int]:
    """What reached the receiver: ETH value, or an allow-listed token's Transfer from the wallet."""
    if tx.to == expect.receiver:
        if tx.value < expect.amount_wei:
            _underpaid(tx.value, expect.amount_wei, "wei")
        return "ETH", tx.value
    transfers = [_transfer(log) for log in receipt.logs]
    to_receiver = [(log, sender, amount) for log, (sender, recipient, amount)
                   in zip(receipt.logs, transfers) if recipient == expect.receiver and sender == expect.wallet]
    accepted = [(log, amount) for log, amount in ((log, amount) for log, _, amount in to_receiver)
                if log.address in expect.tokens]
    if accepted:
        token = accepted[0][0].address
        paid = sum(amount for log, amount in accepted if log.address == token)
        if paid < expect.tokens[token]:
            _underpaid(paid, expect.tokens[token], f"units of {token}")
        return token, paid
    if to_receiver:
        # A Transfer event to the receiver from a contract that is not allow-listed: a look-alike token.
        raise errors.PaymentUnknownToken(f"the Transfer came from {to_receiver[0][0].address}, which is not an "
                                         "accepted token contract")
    raise errors.PaymentWrongRecipient(f"the transaction pays {tx.to}, not {expect.receiver}")


def _transfer(log) -> tuple[str | None, str | None, int]:
    """(from, to, amount) of an ERC-20 Transfer log, (None, None, 0) for any other log."""
    if len(log.topics) != 3 or log.topics[0] != TRANSFER_TOPIC:
        return None, None, 0
    from web3 import Web3

    try:
        sender = Web3.to_checksum_address("0x" + log.topics[1][-40:])
        recipient = Web3.to_checksum_address("0x" + log.topics[2][-40:])
        amount = int(log.data, 16) if log.data not in ("0x", "") else 0
    except ValueError:
        return None, None, 0
    return sender, recipient, amount


def _underpaid(paid: int, price: int, unit: str) -> None:
    raise errors.PaymentUnderpaid(f"paid {paid} {unit}, the quote asks for {price}")
