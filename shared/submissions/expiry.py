"""Expiry: unpaid submissions whose quote ran out, and the uploads of failed ones past their retry window."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from shared.db import Database, utcnow
from shared.settings import Settings
from shared.submissions.models import Submission, SubmissionStatus
from shared.submissions.service import locked, record_status, release_uploads, touch
from shared.uploads.models import Upload

S = SubmissionStatus


def expire_if_stale(db: Database, settings: Settings, submission_id: uuid.UUID, *,
                    now: datetime | None = None) -> bool:
    """Mark an unpaid submission whose quote ran out ``expired`` and free its uploads; True if this call did it."""
    now = now or utcnow()
    with db.session() as session:
        row = locked(session, submission_id, S.AWAITING_PAYMENT.value)
        if row is None or row.quote_expires_at > now:
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
    with db.session() as session:
        held = select(Upload.id).where(Upload.deleted_at.is_(None),
                                       Upload.id.in_([Submission.image_upload_id, Submission.video_upload_id]))
        return session.scalars(select(Submission).where(Submission.status == S.FAILED.value,
                                                        Submission.updated_at <= failed_before,
                                                        held.exists()).limit(10_000)).all()
