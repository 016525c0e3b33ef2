"""The append-only audit log: who did what to which hashtag, term or token, why, under which lexicon version."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import Database, utcnow
from shared.moderation.lexicon import latest_version
from shared.moderation.models import Hashtag, ModerationAction, Moderator
from shared.pagination import count_rows, page_of


def record_action(session: Session, action: str, moderator_id: uuid.UUID | None, *,
                  hashtag: Hashtag | None = None, target: str = "", note: str | None = None,
                  details: dict[str, Any] | None = None, lexicon_version: int | None = None) -> ModerationAction:
    """Add an audit row in the caller's transaction; ``moderator_id`` None is the system.

    ``lexicon_version`` defaults to the latest one.
    """
    if lexicon_version is None:
        version = latest_version(session)
        lexicon_version = version.version if version else None
    row = ModerationAction(action=action, moderator_id=moderator_id, hashtag_id=hashtag.id if hashtag else None,
                           target=target or (hashtag.normalized if hashtag else ""), note=note,
                           details=_jsonable(details or {}), lexicon_version=lexicon_version, created_at=utcnow())
    session.add(row)
    return row


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def list_actions(db: Database, *, hashtag_id: int | None = None, moderator_id: uuid.UUID | None = None,
                 action: str | None = None, page: int = 1, per_page: int = 100) -> tuple[list[dict[str, Any]], int]:
    """One page of the log, newest first, with each moderator's name ("system" for automatic actions)."""
    with db.session() as session:
        query = select(ModerationAction, Moderator.name).outerjoin(Moderator,
                                                                    Moderator.id == ModerationAction.moderator_id)
        if hashtag_id is not None:
            query = query.where(ModerationAction.hashtag_id == hashtag_id)
        if moderator_id is not None:
            query = query.where(ModerationAction.moderator_id == moderator_id)
        if action:
            query = query.where(ModerationAction.action == action)
        total = count_rows(session, query)
        rows = session.execute(page_of(query.order_by(ModerationAction.id.desc()), page, per_page)).all()
        return [{"id": a.id, "action": a.action, "moderator_id": a.moderator_id, "moderator": name or "system",
                 "hashtag_id": a.hashtag_id, "target": a.target, "note": a.note, "details": a.details,
                 "lexicon_version": a.lexicon_version, "created_at": a.created_at} for a, name in rows], total
