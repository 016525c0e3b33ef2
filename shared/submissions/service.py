"""Submission use cases: create with a quote, accept a payment, check it until it counts.

The API and the light queue call the same functions. Chain reads never happen
inside a database transaction: a row is read and committed, the chain is asked,
then the outcome (the tx hash claimed only once the node showed it sent by the
submission's wallet) is written with a conditional update, so two checks racing
make one transition.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.auth.errors import WalletNotOwner
from shared.db import Database, utcnow
from shared.errors import Conflict, InvalidInput, NotFound, ShowreelError
from shared.events.outbox import record_event
from shared.payments.chain import Chain
from shared.payments.errors import (
    ChainUnavailable,
    PaymentNotFound,
    PaymentQuoteExpired,
    PaymentRefused,
    TooManyPendingPayments,
    TxAlreadyUsed,
)
from shared.payments.terms import terms_from_settings, uses_finalized_tag
from shared.payments.verify import Confirmed, Expectation, Pending, verify_payment
from shared.payments.wallet import to_checksum_address
from shared.pipeline.ledger import fresh_steps
from shared.profiles.validation import validate_profile_data
from shared.settings import Settings
from shared.storage.base import StorageProvider
from shared.submissions.models import PIPELINE_STEPS, Submission, SubmissionStatus

log = logging.getLogger(__name__)

_TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
S = SubmissionStatus


@dataclass(frozen=True)
class SubmissionContext:
    db: Database
    settings: Settings
    chain: Callable[[], Chain]
    storage: Callable[[], StorageProvider]


class SubmissionNotFound(NotFound):
    code = "submission_not_found"
    title = "No such submission"


class PaymentNotExpected(Conflict):
    code = "payment_not_expected"
    title = "This submission does not wait for a payment"


class InvalidTxHash(InvalidInput):
    code = "invalid_tx_hash"
    title = "Not a transaction hash"


def touch(row: Submission, now: datetime | None = None) -> None:
    row.version += 1
    row.updated_at = now or utcnow()


def status_payload(row: Submission) -> dict[str, Any]:
    """What every submission event carries: enough for a live page to redraw itself."""
    return {"submission_id": str(row.id), "wallet": row.wallet, "status": row.status, "run": row.run,
            "steps": {step: (row.steps.get(step) or {}).get("state", "pending") for step in PIPELINE_STEPS},
            "payment": _payment_brief(row), "payment_error": row.payment_error,
            "error": {"code": row.error_code, "message": row.error_message} if row.error_code else None,
            "version": row.version}


def record_status(session: Session, row: Submission, event_type: str = "submission.status") -> None:
    record_event(session, event_type, row.id, status_payload(row))


# Kept in ``Submission.payment`` for the light queue, not shown to anyone.
_INTERNAL_PAYMENT_KEYS = frozenset({"checker"})


def _payment_brief(row: Submission) -> dict[str, Any] | None:
    if not row.posted_tx_hash and not row.payment:
        return None
    # The posted hash, claimed or not yet: the owner sees what they sent.
    return {"tx_hash": row.posted_tx_hash or row.tx_hash, **{k: v for k, v in (row.payment or {}).items() if k not in _INTERNAL_PAYMENT_KEYS}}


# -- creating ---------------------------------------------------------------------------------


def clean_profile_data(db: Database, data: dict[str, Any]) -> dict[str, Any]:
    """The profile form as stored (the form's own rules); a rejected hashtag refuses the
    submission with its reason (``hashtag_rejected``), other problems are ``validation_error``."""
    result = validate_profile_data(data, db)
    result.raise_for_errors()
    return {**result.data, "hashtags": list(result.data.get("hashtags") or [])}


def create_submission(ctx: SubmissionContext, wallet: str, profile_data: dict[str, Any], *,
                      image_upload_id: uuid.UUID, video_upload_id: uuid.UUID,
                      now: datetime | None = None) -> Submission:
    """Claim the two uploads and fix the quote; raises validation, moderation and upload errors."""
    from shared.uploads.service import claim_upload

    wallet = to_checksum_address(wallet)
    now = now or utcnow()
    data = clean_profile_data(ctx.db, profile_data)
    terms = terms_from_settings(ctx.settings)
    submission_id = uuid.uuid4()
    with ctx.db.session() as session:
        uploads = {kind: claim_upload(session, upload_id, owner_wallet=wallet, submission_id=submission_id,
                                      kind=kind, now=now)
                   for kind, upload_id in (("image", image_upload_id), ("video", video_upload_id))}
        row = Submission(
            id=submission_id, wallet=wallet, status=S.AWAITING_PAYMENT.value, profile_data=data,
            image_upload_id=uploads["image"].id, video_upload_id=uploads["video"].id,
            source_info={kind: dict(upload.info or {}) | {"content_type": upload.content_type}
                         for kind, upload in uploads.items()},
            quote_to=terms.receiver, quote_amount_wei=str(terms.price_wei), quote_chain_id=terms.chain_id,
            quote_tokens={token: str(price) for token, price in terms.tokens.items()},
            quote_expires_at=now + timedelta(seconds=ctx.settings.PAYMENT_QUOTE_TTL),
            steps=fresh_steps(PIPELINE_STEPS), outputs={},
            created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        record_status(session, row, "submission.created")
    return row


def quote_view(row: Submission) -> dict[str, Any]:
    return {"to": row.quote_to, "amount_wei": row.quote_amount_wei, "chain_id": row.quote_chain_id,
            "expires_at": row.quote_expires_at.isoformat(),
            "tokens": [{"contract": token, "amount": amount} for token, amount in sorted(row.quote_tokens.items())]}


def get_submission(db: Database, submission_id: uuid.UUID, wallet: str | None = None) -> Submission:
    """The submission; with ``wallet``, only its owner's (WalletNotOwner otherwise)."""
    with db.session() as session:
        row = session.get(Submission, submission_id)
        if row is None:
            raise SubmissionNotFound(f"no submission {submission_id}")
    if wallet is not None and row.wallet != to_checksum_address(wallet):
        raise WalletNotOwner("this submission belongs to another wallet")
    return row


# -- paying -----------------------------------------------------------------------------------


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
        row = session.get(Submission, submission_id, with_for_update=True)
        if row is None or row.status != S.AWAITING_PAYMENT.value:
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
            row = session.get(Submission, submission_id, with_for_update=True)
            if row is None or row.status != S.PAYMENT_PENDING.value or row.posted_tx_hash != tx_hash:
                return True  # moved on meanwhile: the conditional updates after this find nothing to do
            row.tx_hash = tx_hash
            session.flush()
    except IntegrityError:
        return False
    return True


def _confirm(ctx: SubmissionContext, submission_id: uuid.UUID, tx_hash: str, verdict: Confirmed, *,
             now: datetime) -> None:
    with ctx.db.session() as session:
        row = session.get(Submission, submission_id, with_for_update=True)
        if row is None or row.status != S.PAYMENT_PENDING.value or row.tx_hash != tx_hash:
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
        row = session.get(Submission, submission_id, with_for_update=True)
        if row is None or row.status != S.PAYMENT_PENDING.value or row.posted_tx_hash != tx_hash:
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
        row = session.get(Submission, submission_id, with_for_update=True)
        if row is None or row.posted_tx_hash != tx_hash or row.status not in (
                S.PAYMENT_PENDING.value, S.PAID.value, S.PROCESSING.value):
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
        row = session.get(Submission, uuid.UUID(str(submission_id)), with_for_update=True)
        if row is None or row.status != S.PAYMENT_PENDING.value:
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


def release_uploads(db: Database, settings: Settings, row: Submission) -> None:
    """Free the temp files of a submission that is done with them (published, rejected, expired)."""
    from shared.uploads.service import release_upload

    for upload_id in (row.image_upload_id, row.video_upload_id):
        try:
            release_upload(db, settings, upload_id)
        except Exception:  # the uploads' own expiry and the temp purge remove what is left
            log.warning("could not release upload %s of submission %s", upload_id, row.id, exc_info=True)


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
                locked = session.get(Submission, submission_id, with_for_update=True)
                locked.payment = {**(locked.payment or {}), **verdict.as_dict()}
                touch(locked)
        return True
    with ctx.db.session() as session:
        locked = session.get(Submission, submission_id, with_for_update=True)
        if locked.run != run or locked.status not in (S.PAID.value, S.PROCESSING.value):
            return False
        locked.status = S.PAYMENT_PENDING.value
        locked.payment = {"state": "pending", **verdict.as_dict(), "checks": _checks(locked) + 1}
        locked.steps = fresh_steps(PIPELINE_STEPS)
        touch(locked)
        record_status(session, locked)
        record_event(session, "payment.pending", locked.id, {"submission_id": str(locked.id),
                                                             "tx_hash": locked.tx_hash, "reason": verdict.reason})
    log.warning("submission %s: payment %s is not canonical any more (%s); checking again", submission_id,
                row.tx_hash, verdict.reason)
    return False


def expire_if_stale(db: Database, settings: Settings, submission_id: uuid.UUID, *,
                    now: datetime | None = None) -> bool:
    """Mark an unpaid submission whose quote ran out ``expired`` and free its uploads; True if this call did it."""
    now = now or utcnow()
    with db.session() as session:
        row = session.get(Submission, submission_id, with_for_update=True)
        if row is None or row.status != S.AWAITING_PAYMENT.value or row.quote_expires_at > now:
            return False
        row.status = S.EXPIRED.value
        row.error_code, row.error_message = "quote_expired", "no payment arrived before the quote expired"
        touch(row, now)
        record_status(session, row)
    release_uploads(db, settings, row)
    return True


def expire_stale_submissions(db: Database, settings: Settings, *, now: datetime | None = None,
                             dry_run: bool = False) -> dict[str, int]:
    """Expire every unpaid submission past its quote, and free the uploads of failed ones past
    ``SUBMISSION_RETRY_HOURS`` (an ops expirer)."""
    now = now or utcnow()
    with db.session() as session:
        ids = session.scalars(select(Submission.id).where(Submission.status == S.AWAITING_PAYMENT.value,
                                                          Submission.quote_expires_at <= now).limit(10_000)).all()
    failed = _failed_holding_uploads(db, now - timedelta(hours=settings.SUBMISSION_RETRY_HOURS))
    if dry_run:
        return {"submissions_expired": 0, "would_expire": len(ids), "failed_uploads_released": 0,
                "would_release_for_failed": len(failed)}
    for row in failed:
        release_uploads(db, settings, row)
    return {"submissions_expired": sum(expire_if_stale(db, settings, submission_id, now=now) for submission_id in ids),
            "failed_uploads_released": len(failed)}


def _failed_holding_uploads(db: Database, failed_before: datetime) -> list[Submission]:
    """Failed submissions past their retry window whose uploads are still kept."""
    from shared.uploads.models import Upload

    with db.session() as session:
        held = select(Upload.id).where(Upload.deleted_at.is_(None),
                                       Upload.id.in_([Submission.image_upload_id, Submission.video_upload_id]))
        return session.scalars(select(Submission).where(Submission.status == S.FAILED.value,
                                                        Submission.updated_at <= failed_before,
                                                        held.exists()).limit(10_000)).all()
