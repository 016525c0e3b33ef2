"""A submission's payment: accept a posted transaction, check it until it counts, re-verify it.

Chain reads never happen inside a database transaction: a row is read and committed, the
chain is asked, then the outcome (the tx hash claimed only once the node showed it sent by
the submission's wallet) is written under the row lock (:func:`~shared.submissions.service.locked`),
so two checks racing make one transition.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import Database, utcnow
from shared.errors import ShowreelError
from shared.events.outbox import record_event
from shared.payments.errors import (
    ChainUnavailable,
    PaymentNotFound,
    PaymentQuoteExpired,
    PaymentRefused,
    TooManyPendingPayments,
    TxAlreadyUsed,
)
from shared.payments.terms import uses_finalized_tag
from shared.payments.verify import Confirmed, Expectation, Pending, verify_payment
from shared.pipeline.ledger import fresh_steps
from shared.settings import Settings
from shared.submissions.errors import InvalidTxHash, PaymentNotExpected
from shared.submissions.expiry import expire_if_stale
from shared.submissions.models import PIPELINE_STEPS, Submission, SubmissionStatus
from shared.submissions.service import (
    SubmissionContext,
    get_submission,
    locked,
    record_status,
    release_uploads,
    touch,
)

log = logging.getLogger(__name__)

_TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
S = SubmissionStatus


def expectation(row: Submission, settings: Settings) -> Expectation:
    return Expectation(wallet=row.wallet, receiver=row.quote_to, amount_wei=int(row.quote_amount_wei),
                       chain_id=row.quote_chain_id, confirmations=max(1, settings.PAYMENT_CONFIRMATIONS),
                       expires_at=row.quote_expires_at,
                       tokens={token: int(price) for token, price in (row.quote_tokens or {}).items()},
                       finalized_tag=uses_finalized_tag(settings, row.quote_chain_id))


def post_payment(ctx: SubmissionContext, submission_id: uuid.UUID, wallet: str, tx_hash: str, *,
                 now: datetime | None = None) -> Submission:
    """Read ``tx_hash`` on chain, then claim it for the submission.

    Nothing is claimed before the node shows the transaction sent from the submission's wallet:
    a stranger posting a victim's public hash is refused without ever holding it. A hash the
    node does not know yet is kept unclaimed (``payment_pending``); the light queue claims it
    once seen. Raises ``tx_already_used`` (409), ``too_many_pending_payments`` (429) and the
    402 refusals of :mod:`shared.payments.errors`.
    """
    if not isinstance(tx_hash, str) or not _TX_HASH.match(tx_hash):
        raise InvalidTxHash("tx_hash must be 0x followed by 64 hex digits", errors={"tx_hash": ["not a tx hash"]})
    tx_hash = tx_hash.lower()
    now = now or utcnow()
    row = get_submission(ctx.db, submission_id, wallet)
    chain = ctx.chain()  # payments_not_configured (503) before anything else
    if tx_hash in (row.tx_hash, row.posted_tx_hash):
        return row  # the same request again: answer with where it stands
    expire_if_stale(ctx.db, ctx.settings, row.id, now=now)
    row = get_submission(ctx.db, submission_id)
    if row.status != S.AWAITING_PAYMENT.value:
        raise PaymentNotExpected(f"the submission is {row.status}")
    try:
        verdict = verify_payment(chain, expectation(row, ctx.settings), tx_hash)
    except PaymentRefused as refusal:
        _note_refusal(ctx, submission_id, tx_hash, refusal, now=now)
        raise
    except ChainUnavailable as exc:
        verdict = Pending("chain_unavailable")
        log.warning("payment of submission %s: %s", submission_id, exc.detail)
    try:
        _accept(ctx, submission_id, tx_hash, verdict, now=now)
    except IntegrityError:
        raise TxAlreadyUsed("this transaction already paid for a submission") from None
    return get_submission(ctx.db, submission_id)


def _seen(verdict: Confirmed | Pending) -> bool:
    """Whether the node showed the transaction (so its sender was checked): only then is it claimed."""
    return not isinstance(verdict, Pending) or verdict.reason not in ("not_found", "chain_unavailable")


def _accept(ctx: SubmissionContext, submission_id: uuid.UUID, tx_hash: str, verdict: Confirmed | Pending, *,
            now: datetime) -> None:
    """Record the posted hash (claimed when seen); raises IntegrityError when another submission holds it."""
    with ctx.db.session() as session:
        row = session.get(Submission, submission_id)
        # The wallet's open submissions, locked: two posts of one wallet count its pending payments in turn.
        # populate_existing: the row read above may be stale by the time the lock is ours.
        open_rows = session.scalars(
            select(Submission).where(Submission.wallet == row.wallet,
                                     Submission.status.in_((S.AWAITING_PAYMENT.value, S.PAYMENT_PENDING.value)))
            .order_by(Submission.id).with_for_update().execution_options(populate_existing=True)).all()
        row = next((r for r in open_rows if r.id == submission_id), None)
        if row is None or row.status != S.AWAITING_PAYMENT.value or row.posted_tx_hash is not None:
            raise PaymentNotExpected(f"the submission is {row.status if row else 'gone'}")
        pending = sum(r.status == S.PAYMENT_PENDING.value for r in open_rows)
        if not isinstance(verdict, Confirmed) and pending >= ctx.settings.PAYMENT_MAX_PENDING_PER_WALLET:
            raise TooManyPendingPayments(
                f"this wallet already has {pending} payments waiting for the chain; post this one when one of "
                "them is confirmed", retry_after=int(ctx.settings.PAYMENT_RECHECK_MAX_SECONDS))
        row.posted_tx_hash = tx_hash
        row.tx_hash = tx_hash if _seen(verdict) else None
        row.status = S.PAYMENT_PENDING.value
        row.payment_posted_at = now
        row.payment_error = None
        row.payment = {"state": "pending", "reason": "posted", "checks": 0}
        touch(row, now)
        session.flush()  # the unique tx_hash: IntegrityError here when another submission holds it
        record_status(session, row)  # "payment sent", also when it is final already: the live page shows both
        if isinstance(verdict, Confirmed):
            _mark_confirmed(session, row, tx_hash, verdict, now=now)
            return
        row.payment = {"state": "pending", **verdict.as_dict(), "checks": 1, "checked_at": now.isoformat()}
        # The API never enqueues: the outbox event makes the dispatcher start the re-checks.
        record_event(session, "payment.pending", row.id, {"submission_id": str(row.id), "tx_hash": tx_hash})


def _note_refusal(ctx: SubmissionContext, submission_id: uuid.UUID, tx_hash: str, refusal: ShowreelError, *,
                  now: datetime) -> None:
    """Show a refused post on the submission (still waiting for a payment; nothing was claimed)."""
    with ctx.db.session() as session:
        if (row := locked(session, submission_id, S.AWAITING_PAYMENT.value)) is None:
            return
        row.payment_error = {"code": refusal.code, "message": refusal.detail, "tx_hash": tx_hash}
        touch(row, now)
        record_status(session, row)


Outcome = Confirmed | Pending | ShowreelError | None


def check_payment(ctx: SubmissionContext, submission_id: uuid.UUID | str, *,
                  now: datetime | None = None) -> Outcome:
    """Check a pending payment once and record what happened; None when nothing is pending.

    Returns the verdict, or the refusal (a PaymentRefused, or tx_already_used) that ended it."""
    submission_id = uuid.UUID(str(submission_id))
    with ctx.db.session() as session:
        row = session.get(Submission, submission_id)
    if row is None or row.status != S.PAYMENT_PENDING.value or not row.posted_tx_hash:
        return None
    tx_hash = row.posted_tx_hash
    try:
        verdict = verify_payment(ctx.chain(), expectation(row, ctx.settings), tx_hash)
    except PaymentRefused as refusal:
        _refuse(ctx, submission_id, tx_hash, refusal, now=now)
        return refusal
    except ChainUnavailable as exc:
        verdict = Pending("chain_unavailable")
        log.warning("payment of submission %s: %s", submission_id, exc.detail)
    now = now or utcnow()
    if row.tx_hash is None and _seen(verdict) and not _claim(ctx, submission_id, tx_hash):
        refusal = TxAlreadyUsed("this transaction already paid for another submission")
        _refuse(ctx, submission_id, tx_hash, refusal, now=now)
        return refusal
    if isinstance(verdict, Confirmed):
        _confirm(ctx, submission_id, tx_hash, verdict, now=now)
        return verdict
    refusal = _gave_up(ctx.settings, row, verdict, now)
    if refusal is not None:
        _refuse(ctx, submission_id, tx_hash, refusal, now=now)
        return refusal
    _still_pending(ctx, submission_id, tx_hash, verdict, now=now)
    return verdict


def _gave_up(settings: Settings, row: Submission, verdict: Pending, now: datetime) -> PaymentRefused | None:
    """The refusal that ends a payment waiting too long, if it does."""
    waited = (now - row.payment_posted_at).total_seconds() if row.payment_posted_at else 0
    if waited > settings.PAYMENT_PENDING_TIMEOUT:
        return PaymentNotFound(f"the transaction did not confirm within {settings.PAYMENT_PENDING_TIMEOUT} s")
    if verdict.reason == "not_found" and row.tx_hash is None and waited > settings.PAYMENT_NOT_FOUND_TIMEOUT:
        # Never seen at all: most likely a made-up hash; polling it until the quote expires costs the node.
        return PaymentNotFound(f"the node never saw the transaction within {settings.PAYMENT_NOT_FOUND_TIMEOUT} s")
    if verdict.reason in ("not_found", "in_mempool") and now > row.quote_expires_at:
        return PaymentQuoteExpired("the transaction was not mined before the quote expired")
    return None


def _claim(ctx: SubmissionContext, submission_id: uuid.UUID, tx_hash: str) -> bool:
    """Claim the posted hash now that the node showed it from the wallet; False when another submission holds it."""
    try:
        with ctx.db.session() as session:
            if (row := locked(session, submission_id, S.PAYMENT_PENDING.value, posted_tx_hash=tx_hash)) is None:
                return True  # moved on meanwhile: the conditional updates after this find nothing to do
            row.tx_hash = tx_hash
            session.flush()
    except IntegrityError:
        return False
    return True


def _confirm(ctx: SubmissionContext, submission_id: uuid.UUID, tx_hash: str, verdict: Confirmed, *,
             now: datetime) -> None:
    with ctx.db.session() as session:
        if (row := locked(session, submission_id, S.PAYMENT_PENDING.value, tx_hash=tx_hash)) is None:
            return
        _mark_confirmed(session, row, tx_hash, verdict, now=now)


def _mark_confirmed(session: Session, row: Submission, tx_hash: str, verdict: Confirmed, *, now: datetime) -> None:
    """Paid: the block is final (``paid_at`` is when, the start of SPEC 11's "confirmed -> published")."""
    row.status = S.PAID.value
    row.payment = {"state": "confirmed", **verdict.as_dict(), "checks": _checks(row) + 1}
    row.paid_at = row.paid_at or now
    row.run += 1
    row.steps = fresh_steps(PIPELINE_STEPS)
    touch(row, now)
    record_event(session, "payment.confirmed", row.id,
                 {"submission_id": str(row.id), "run": row.run, "tx_hash": tx_hash, **verdict.as_dict()})
    record_status(session, row)


def _still_pending(ctx: SubmissionContext, submission_id: uuid.UUID, tx_hash: str, verdict: Pending, *,
                   now: datetime) -> None:
    with ctx.db.session() as session:
        if (row := locked(session, submission_id, S.PAYMENT_PENDING.value, posted_tx_hash=tx_hash)) is None:
            return
        before = dict(row.payment or {})
        progress = {k: before.get(k) for k in ("reason", "confirmations")} != \
            {"reason": verdict.reason, "confirmations": verdict.confirmations}
        row.payment = {"state": "pending", **verdict.as_dict(), "checks": _checks(row) + 1,
                       "checked_at": now.isoformat(), "checker": before.get("checker"),
                       "idle": 0 if progress else int(before.get("idle", 0)) + 1}
        if progress:
            touch(row, now)
            record_status(session, row)  # progress worth showing: "1 of 2 confirmations"


def recheck_delay(settings: Settings, payment: dict[str, Any] | None) -> float:
    """Seconds until a pending payment's next check: doubling while nothing changes, capped."""
    idle = min(int((payment or {}).get("idle", 0)), 20)
    return min(settings.PAYMENT_RECHECK_MAX_SECONDS, settings.PAYMENT_RECHECK_SECONDS * 2 ** idle)


def next_check_delay(ctx: SubmissionContext, submission_id: uuid.UUID | str) -> float:
    with ctx.db.session() as session:
        row = session.get(Submission, uuid.UUID(str(submission_id)))
        return recheck_delay(ctx.settings, row.payment if row is not None else None)


def _refuse(ctx: SubmissionContext, submission_id: uuid.UUID, tx_hash: str, refusal: ShowreelError, *,
            now: datetime | None) -> None:
    """Release the hash; the submission waits for another payment, or is rejected once its quote expired."""
    now = now or utcnow()
    with ctx.db.session() as session:
        row = locked(session, submission_id, S.PAYMENT_PENDING.value, S.PAID.value, S.PROCESSING.value,
                     posted_tx_hash=tx_hash)
        if row is None:
            return
        row.tx_hash = row.posted_tx_hash = None
        row.payment = None
        row.payment_error = {"code": refusal.code, "message": refusal.detail, "tx_hash": tx_hash}
        if now > row.quote_expires_at:
            row.status = S.REJECTED.value
            row.error_code, row.error_message = refusal.code, refusal.detail
        else:
            row.status = S.AWAITING_PAYMENT.value
        touch(row, now)
        record_status(session, row)
    if row.status == S.REJECTED.value:
        release_uploads(ctx.db, ctx.settings, row)


# -- who checks a pending payment ------------------------------------------------------------
#
# A pending payment is checked by a chain of delayed light-queue messages, each sending the next.
# Each chain carries a checker id; only the newest one (stored on the row) goes on, so a duplicate
# delivery or the sweep's replacement never leaves two chains polling the node for one payment.


def claim_payment_checker(db: Database, submission_id: uuid.UUID | str) -> str | None:
    """Make a new checker the only one of a pending payment; None when no payment is pending."""
    with db.session() as session:
        if (row := locked(session, uuid.UUID(str(submission_id)), S.PAYMENT_PENDING.value)) is None:
            return None
        checker = uuid.uuid4().hex
        row.payment = {**(row.payment or {}), "checker": checker}
        return checker


def is_payment_checker(db: Database, submission_id: uuid.UUID | str, checker: str) -> bool:
    with db.session() as session:
        row = session.get(Submission, uuid.UUID(str(submission_id)))
        return row is not None and row.status == S.PAYMENT_PENDING.value and \
            (row.payment or {}).get("checker") == checker


def unchecked_payments(db: Database, settings: Settings, *, now: datetime | None = None) -> list[uuid.UUID]:
    """Pending payments nobody checked for ``PAYMENT_SWEEP_AFTER_SECONDS``: their check message was lost
    (a Redis restart without persistence, a purged queue) or is stuck behind a long backlog."""
    cutoff = (now or utcnow()) - timedelta(seconds=settings.PAYMENT_SWEEP_AFTER_SECONDS)
    with db.session() as session:
        rows = session.execute(select(Submission.id, Submission.payment, Submission.payment_posted_at)
                               .where(Submission.status == S.PAYMENT_PENDING.value).limit(10_000)).all()
    stale = []
    for submission_id, payment, posted_at in rows:
        checked_at = (payment or {}).get("checked_at")
        last = datetime.fromisoformat(checked_at) if checked_at else posted_at
        if last is None or last <= cutoff:
            stale.append(submission_id)
    return stale


def recheck_lost_payments(db: Database, settings: Settings, send: Callable[[str, str], None], *,
                          now: datetime | None = None) -> dict[str, int]:
    """The payment sweep: a new checker for each pending payment nobody checked lately.

    ``send(submission_id, checker)`` starts that checker's chain; the worker side passes its check
    actor's ``send``.
    """
    sent = 0
    for submission_id in unchecked_payments(db, settings, now=now):
        checker = claim_payment_checker(db, submission_id)
        if checker is not None:
            send(str(submission_id), checker)
            sent += 1
    return {"checks_sent": sent}


def _checks(row: Submission) -> int:
    return int((row.payment or {}).get("checks", 0))


def reverify_payment(ctx: SubmissionContext, submission_id: uuid.UUID, run: int) -> bool:
    """Before the expensive convert, and again before publishing: is the payment still final on the
    canonical chain?

    True: go on. False: it is not (a reorg dropped it, or it no longer passes); the
    submission went back to ``payment_pending`` (checked again by the light queue) or
    was refused, and this run stops. Raises ChainUnavailable (transient: retried).
    """
    with ctx.db.session() as session:
        row = session.get(Submission, submission_id)
    if row is None or row.run != run or not row.tx_hash:
        return False
    try:
        verdict = verify_payment(ctx.chain(), expectation(row, ctx.settings), row.tx_hash)
    except PaymentRefused as refusal:
        _refuse(ctx, submission_id, row.tx_hash, refusal, now=None)
        return False
    if isinstance(verdict, Confirmed):
        if verdict.block_hash != (row.payment or {}).get("block_hash"):
            with ctx.db.session() as session:
                current = locked(session, submission_id, S.PAID.value, S.PROCESSING.value, run=run,
                                 tx_hash=row.tx_hash)
                if current is None:
                    return False  # refused, paid again or deleted meanwhile: this run stops
                current.payment = {**(current.payment or {}), **verdict.as_dict()}
                touch(current)
        return True
    with ctx.db.session() as session:
        current = locked(session, submission_id, S.PAID.value, S.PROCESSING.value, run=run)
        if current is None:
            return False
        current.status = S.PAYMENT_PENDING.value
        current.payment = {"state": "pending", **verdict.as_dict(), "checks": _checks(current) + 1}
        current.steps = fresh_steps(PIPELINE_STEPS)
        touch(current)
        record_status(session, current)
        record_event(session, "payment.pending", current.id, {"submission_id": str(current.id),
                                                              "tx_hash": current.tx_hash, "reason": verdict.reason})
    log.warning("submission %s: payment %s is not canonical any more (%s); checking again", submission_id,
                row.tx_hash, verdict.reason)
    return False
