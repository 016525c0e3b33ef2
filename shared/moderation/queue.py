"""The review queue: stored hashtags with the profiles that use them, and a moderator's decision on one."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import Database, utcnow
from shared.moderation import errors
from shared.moderation.audit import record_action
from shared.moderation.lexicon import ensure_seeded, latest_version, new_version
from shared.moderation.lists import add_stem, add_term, audited_term
from shared.moderation.matcher import term_key
from shared.moderation.models import AllowStem, Appeal, Hashtag, HashtagStatus, ModerationTerm, Moderator
from shared.moderation.moderators import decider_chain, decider_details
from shared.moderation.normalize import normalize_tag
from shared.pagination import count_rows, page_of

# {hashtag id: [{wallet, name, is_incognito, published_at}]} of the profiles carrying each tag. Profiles
# build on moderation, so the queue is handed this (shared.profiles.service.profiles_using_hashtags).
ProfilesOf = Callable[[Session, Collection[int]], dict[int, list[dict[str, Any]]]]

DECISIONS = {"approve": HashtagStatus.APPROVED, "reject": HashtagStatus.REJECTED}


def _no_profiles(_session: Session, _ids: Collection[int]) -> dict[int, list[dict[str, Any]]]:
    return {}


def list_hashtags(db: Database, *, status: str | None = None, q: str | None = None, page: int = 1,
                  per_page: int = 50, profiles_of: ProfilesOf = _no_profiles) -> tuple[list[dict[str, Any]], int]:
    """Hashtags with their context (profiles that use them, from ``profiles_of``), oldest first."""
    with db.session() as session:
        query = select(Hashtag)
        if status:
            query = query.where(Hashtag.status == status)
        if q:
            query = query.where(Hashtag.normalized.contains(normalize_tag(q)))
        total = count_rows(session, query)
        rows = list(session.scalars(page_of(query.order_by(Hashtag.created_at, Hashtag.id), page, per_page)))
        profiles = profiles_of(session, [row.id for row in rows]) if rows else {}
        return [hashtag_view(row, profiles.get(row.id, [])) for row in rows], total


def hashtag_view(row: Hashtag, profiles: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": row.id, "tag": row.display, "normalized": row.normalized, "status": row.status,
            "reasons": row.reasons, "reason": row.reason, "lexicon_version": row.lexicon_version,
            "decided_by": row.decided_by, "decided_at": row.decided_at, "created_at": row.created_at,
            "updated_at": row.updated_at, "profiles": profiles or []}


def get_hashtag(db: Database, hashtag_id: int, *, profiles_of: ProfilesOf = _no_profiles) -> dict[str, Any]:
    """One hashtag with its findings and the profiles using it. Raises ``hashtag_not_found``."""
    with db.session() as session:
        row = session.get(Hashtag, hashtag_id)
        if row is None:
            raise errors.HashtagNotFound(f"no hashtag {hashtag_id}")
        return hashtag_view(row, profiles_of(session, [hashtag_id]).get(hashtag_id, []))


def decide(db: Database, hashtag_id: int, moderator: Moderator, decision: str, note: str | None,
           feed_lexicon: bool = False) -> dict[str, Any]:
    """Approve or reject a hashtag; optionally feed the decision into the lists."""
    ensure_seeded(db)
    status = DECISIONS[decision]
    with db.session() as session:
        row = session.get(Hashtag, hashtag_id, with_for_update=not db.is_sqlite)
        if row is None:
            raise errors.HashtagNotFound(f"no hashtag {hashtag_id}")
        _ensure_outside_appealed_chains(session, row, moderator)
        before = row.status
        version = latest_version(session)
        row.status = status
        row.decided_by = moderator.id
        row.decided_at = row.updated_at = utcnow()
        if status == HashtagStatus.REJECTED:
            row.reason = f"rejected by a moderator: {note}" if note else (row.reason or "rejected by a moderator")
        else:
            row.reason = None
        record_action(session, decision, moderator.id, hashtag=row, note=note,
                      lexicon_version=version.version if version else None,
                      details={"from": before, "to": status} | decider_details(moderator))
        if feed_lexicon:
            _feed_lexicon(session, moderator, row, decision, note)
        return hashtag_view(row)


def _ensure_outside_appealed_chains(session: Session, row: Hashtag, moderator: Moderator) -> None:
    """Once a decision on the tag was appealed, its decider's chain may not decide the tag again."""
    appealed = set(session.scalars(select(Appeal.original_decider_id).where(
        Appeal.hashtag_id == row.id, Appeal.original_decider_id.is_not(None))))
    for decider_id in appealed:
        if moderator.id in decider_chain(session, decider_id):
            raise errors.DecisionNeedsAnotherModerator(
                f"#{row.display} was appealed against a decision of yours or of a token in its chain; "
                "a moderator outside that chain decides it now")


def _feed_lexicon(session: Session, moderator: Moderator, row: Hashtag, decision: str, note: str | None) -> None:
    """A rejection adds the tag as a whole-word term, an approval allowlists it (unless listed already)."""
    key = term_key(row.normalized)
    if len(key) < 2:
        return
    if decision == "reject":
        if session.scalars(select(ModerationTerm).where(ModerationTerm.term == key)).first() is not None:
            return
        added = add_term(session, moderator, key, category="moderator", severity="high", mode="word", note=note,
                         source="moderator")
        action, details = "term_added", audited_term(added)
    else:
        if session.scalars(select(AllowStem).where(AllowStem.stem == key)).first() is not None:
            return
        add_stem(session, moderator, key, note=note, source="moderator")
        action, details = "allowlist_added", {}
    version = new_version(session, note=f"{decision} of #{row.display} fed the lists", moderator_id=moderator.id)
    record_action(session, action, moderator.id, target=key, note=note, details=details,
                  lexicon_version=version.version)
