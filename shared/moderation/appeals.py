"""Appeals of rejected hashtags: a signed-in wallet opens one, a moderator outside the decider's chain decides."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from shared.db import Database, utcnow
from shared.moderation import errors
from shared.moderation.audit import record_action
from shared.moderation.lexicon import latest_version
from shared.moderation.models import Appeal, AppealStatus, Hashtag, HashtagStatus, Moderator
from shared.moderation.moderators import decider_chain, decider_details
from shared.moderation.normalize import normalize_tag
from shared.moderation.queue import hashtag_view
from shared.pagination import count_rows, page_of


def appeal_view(row: Appeal, hashtag: Hashtag | None = None) -> dict[str, Any]:
    out = {"id": row.id, "hashtag_id": row.hashtag_id, "wallet": row.wallet, "message": row.message,
           "status": row.status, "original_decider_id": row.original_decider_id, "decided_by": row.decided_by,
           "decision_note": row.decision_note, "decided_at": row.decided_at, "created_at": row.created_at}
    if hashtag is not None:
        out["hashtag"] = hashtag_view(hashtag)
    return out


def appeal_brief(appeal: Appeal | None) -> dict[str, Any] | None:
    """What the tag's owner sees of its latest appeal."""
    if appeal is None:
        return None
    return {"id": appeal.id, "status": appeal.status, "decision_note": appeal.decision_note}


def create_appeal(db: Database, tag: str, message: str, wallet: str) -> tuple[dict[str, Any], bool]:
    """Appeal a rejected tag as the signed-in ``wallet``; its own open appeal is returned again.

    Raises ``appeal_already_open`` when another wallet's appeal of the tag is open (one per tag,
    and one wallet never sees another's message).
    """
    key = normalize_tag(tag)
    with db.session() as session:
        row = session.scalars(select(Hashtag).where(Hashtag.normalized == key)).one_or_none()
        if row is None:
            raise errors.HashtagNotFound(f"#{tag} was never submitted")
        if row.status != HashtagStatus.REJECTED:
            raise errors.AppealNotAllowed(f"#{row.display} is {row.status}")
        existing = session.scalars(select(Appeal).where(Appeal.hashtag_id == row.id,
                                                        Appeal.status == AppealStatus.OPEN)).first()
        if existing is not None:
            if existing.wallet != wallet:
                raise errors.AppealAlreadyOpen(f"an appeal of #{row.display} is open; its outcome shows at "
                                               f"GET /api/hashtags/{row.normalized}/")
            return appeal_view(existing, row), False
        appeal = Appeal(hashtag_id=row.id, wallet=wallet, message=message, status=AppealStatus.OPEN,
                        original_decider_id=row.decided_by, created_at=utcnow())
        session.add(appeal)
        session.flush()
        record_action(session, "appeal_opened", None, hashtag=row, note=message,
                      details={"appeal_id": str(appeal.id), "wallet": wallet})
        return appeal_view(appeal, row), True


def list_appeals(db: Database, *, status: str | None = AppealStatus.OPEN, page: int = 1,
                 per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    with db.session() as session:
        query = select(Appeal, Hashtag).join(Hashtag, Hashtag.id == Appeal.hashtag_id)
        if status:
            query = query.where(Appeal.status == status)
        total = count_rows(session, query)
        rows = session.execute(page_of(query.order_by(Appeal.created_at), page, per_page)).all()
        return [appeal_view(appeal, hashtag) for appeal, hashtag in rows], total


def decide_appeal(db: Database, appeal_id: uuid.UUID, moderator: Moderator, decision: str,
                  note: str | None) -> dict[str, Any]:
    """Uphold or overturn a rejection; never from the chain of the moderator whose decision is appealed."""
    with db.session() as session:
        appeal = session.get(Appeal, appeal_id, with_for_update=not db.is_sqlite)
        if appeal is None:
            raise errors.AppealNotFound(f"no appeal {appeal_id}")
        if appeal.status != AppealStatus.OPEN:
            raise errors.AppealAlreadyDecided(f"the appeal was {appeal.status}")
        hashtag = session.get(Hashtag, appeal.hashtag_id, with_for_update=not db.is_sqlite)
        # The tag's current decider counts too: it may have decided again while the appeal was open.
        for decider_id in {appeal.original_decider_id, hashtag.decided_by} - {None}:
            if moderator.id in decider_chain(session, decider_id):
                raise errors.AppealNeedsAnotherModerator(
                    "this tag was decided by you or by a token in your minting chain; a moderator outside "
                    "that chain reviews the appeal")
        now = utcnow()
        appeal.status = AppealStatus.OVERTURNED if decision == "overturn" else AppealStatus.UPHELD
        appeal.decided_by, appeal.decided_at, appeal.decision_note = moderator.id, now, note
        version = latest_version(session)
        if appeal.status == AppealStatus.OVERTURNED:
            hashtag.status, hashtag.reason = HashtagStatus.APPROVED, None
            hashtag.decided_by, hashtag.decided_at, hashtag.updated_at = moderator.id, now, now
        elif note:
            hashtag.reason = f"rejection upheld on appeal: {note}"
            hashtag.updated_at = now
        record_action(session, f"appeal_{appeal.status}", moderator.id, hashtag=hashtag, note=note,
                      lexicon_version=version.version if version else None,
                      details={"appeal_id": str(appeal.id), "original_decider_id":
                               str(appeal.original_decider_id) if appeal.original_decider_id else None}
                      | decider_details(moderator))
        return appeal_view(appeal, hashtag)
