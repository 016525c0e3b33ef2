"""Submission use cases: create with a quote, read, and what every state change records.

The payment (post, check, the checker lease, re-verification) is :mod:`.payment`; the
expiry of unpaid quotes and of failed submissions' uploads is :mod:`.expiry`; the paid
pipeline is :mod:`.pipeline`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from shared.auth.errors import WalletNotOwner
from shared.db import Database, utcnow
from shared.events.outbox import record_event
from shared.payments.chain import Chain
from shared.payments.terms import terms_from_settings
from shared.payments.wallet import to_checksum_address
from shared.pipeline.ledger import fresh_steps
from shared.profiles.validation import validate_profile_data
from shared.settings import Settings
from shared.storage.base import StorageProvider
from shared.submissions.errors import SubmissionNotFound
from shared.submissions.models import PIPELINE_STEPS, Submission, SubmissionStatus
from shared.uploads.service import claim_upload, release_upload

log = logging.getLogger(__name__)

S = SubmissionStatus


@dataclass(frozen=True)
class SubmissionContext:
    db: Database
    settings: Settings
    chain: Callable[[], Chain]
    storage: Callable[[], StorageProvider]


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


def locked(session: Session, submission_id: uuid.UUID, *statuses: str, **expected: Any) -> Submission | None:
    """The submission row, locked for this transaction, when it is in one of ``statuses`` and its
    fields equal ``expected`` (``run=3``, ``posted_tx_hash=...``); None when it is gone or moved on.

    Every conditional transition reads its row through this guard, so two racing writers make one
    transition and a late one finds nothing to do.
    """
    row = session.get(Submission, submission_id, with_for_update=True)
    if row is None or row.status not in statuses or any(getattr(row, name) != value
                                                       for name, value in expected.items()):
        return None
    return row


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


def release_uploads(db: Database, settings: Settings, row: Submission) -> None:
    """Free the temp files of a submission that is done with them (published, rejected, expired)."""
    for upload_id in (row.image_upload_id, row.video_upload_id):
        try:
            release_upload(db, settings, upload_id)
        except Exception:  # the uploads' own expiry and the temp purge remove what is left
            log.warning("could not release upload %s of submission %s", upload_id, row.id, exc_info=True)
