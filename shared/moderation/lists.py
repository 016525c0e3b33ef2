"""The term list and the allowlist moderators keep: every change makes a new lexicon version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import Database, utcnow
from shared.moderation import errors
from shared.moderation.audit import record_action
from shared.moderation.lexicon import ensure_seeded, get_matcher, language_of, latest_version, new_version
from shared.moderation.matcher import MODES, SEVERITIES, term_key
from shared.moderation.models import AllowStem, ModerationTerm, Moderator
from shared.moderation.normalize import normalize_tag
from shared.pagination import count_rows, page_of


def term_view(row: ModerationTerm) -> dict[str, Any]:
    return {"id": row.id, "term": row.term, "language": row.language, "category": row.category,
            "severity": row.severity, "mode": row.mode, "source": row.source, "note": row.note,
            "created_at": row.created_at, "updated_at": row.updated_at}


def stem_view(row: AllowStem) -> dict[str, Any]:
    return {"id": row.id, "stem": row.stem, "language": row.language, "note": row.note, "source": row.source,
            "created_at": row.created_at, "updated_at": row.updated_at}


def audited_term(row: ModerationTerm) -> dict[str, Any]:
    """A term as the audit log records it (without the dates)."""
    return term_view(row) | {"created_at": None, "updated_at": None}


def _clean_text(value: str) -> str:
    key = term_key(value)
    if not (2 <= len(key) <= 100) or len(key) != len(normalize_tag(value)):
        raise errors.InvalidTerm(f"{value!r}: use 2 to 100 letters, no digits or symbols")
    return key


def list_terms(db: Database, *, q: str | None = None, language: str | None = None, page: int = 1,
               per_page: int = 100) -> tuple[list[dict[str, Any]], int]:
    ensure_seeded(db)
    query = select(ModerationTerm)
    if q:
        query = query.where(ModerationTerm.term.contains(term_key(q)))
    if language:
        query = query.where(ModerationTerm.language == language)
    return _listed(db, query.order_by(ModerationTerm.term), term_view, page, per_page)


def _listed(db: Database, query: Select, view: Callable[[Any], dict[str, Any]], page: int,
            per_page: int) -> tuple[list[dict[str, Any]], int]:
    with db.session() as session:
        total = count_rows(session, query)
        return [view(row) for row in session.scalars(page_of(query, page, per_page))], total


def get_term(db: Database, term_id: int) -> dict[str, Any]:
    ensure_seeded(db)
    with db.session() as session:
        return term_view(_term(session, term_id))


def _term(session: Session, term_id: int) -> ModerationTerm:
    row = session.get(ModerationTerm, term_id)
    if row is None:
        raise errors.TermNotFound(f"no term {term_id}")
    return row


def create_term(db: Database, moderator: Moderator, *, term: str, category: str, severity: str, mode: str,
                note: str | None = None) -> dict[str, Any]:
    ensure_seeded(db)
    key = _clean_text(term)
    try:
        with db.session() as session:
            row = add_term(session, moderator, key, category=category, severity=severity, mode=mode, note=note,
                           source="moderator")
            version = new_version(session, note=f"term {key} added", moderator_id=moderator.id)
            record_action(session, "term_added", moderator.id, target=key, note=note, details=audited_term(row),
                          lexicon_version=version.version)
            return term_view(row)
    except IntegrityError:
        raise errors.TermExists(f"{key!r} is already listed") from None


def add_term(session: Session, moderator: Moderator, key: str, *, category: str, severity: str, mode: str,
             note: str | None, source: str) -> ModerationTerm:
    """Add a term in the caller's transaction (the caller makes the new version). Raises ``term_exists``."""
    if severity not in SEVERITIES or mode not in MODES:
        raise errors.InvalidTerm(f"severity is one of {SEVERITIES}, mode one of {MODES}")
    if session.scalars(select(ModerationTerm).where(ModerationTerm.term == key)).first() is not None:
        raise errors.TermExists(f"{key!r} is already listed")
    now = utcnow()
    row = ModerationTerm(term=key, language=language_of(key), category=category, severity=severity, mode=mode,
                         source=source, note=note, created_by=moderator.id, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


def update_term(db: Database, moderator: Moderator, term_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    ensure_seeded(db)
    with db.session() as session:
        row = _term(session, term_id)
        before = audited_term(row)
        for name in ("category", "severity", "mode", "note"):
            if name in changes and changes[name] is not None:
                setattr(row, name, changes[name])
        if row.severity not in SEVERITIES or row.mode not in MODES:
            raise errors.InvalidTerm(f"severity is one of {SEVERITIES}, mode one of {MODES}")
        row.updated_at = utcnow()
        after = audited_term(row)
        version = new_version(session, note=f"term {row.term} changed", moderator_id=moderator.id)
        record_action(session, "term_updated", moderator.id, target=row.term, note=changes.get("note"),
                      details={"before": before, "after": after}, lexicon_version=version.version)
        return term_view(row)


def delete_term(db: Database, moderator: Moderator, term_id: int, note: str | None = None) -> None:
    ensure_seeded(db)
    with db.session() as session:
        row = _term(session, term_id)
        details = audited_term(row)
        session.delete(row)
        version = new_version(session, note=f"term {row.term} removed", moderator_id=moderator.id)
        record_action(session, "term_removed", moderator.id, target=row.term, note=note, details=details,
                      lexicon_version=version.version)


def list_allowlist(db: Database, *, q: str | None = None, page: int = 1,
                   per_page: int = 100) -> tuple[list[dict[str, Any]], int]:
    ensure_seeded(db)
    query = select(AllowStem)
    if q:
        query = query.where(AllowStem.stem.contains(term_key(q)))
    return _listed(db, query.order_by(AllowStem.stem), stem_view, page, per_page)


def create_stem(db: Database, moderator: Moderator, *, stem: str, note: str | None = None) -> dict[str, Any]:
    ensure_seeded(db)
    key = _clean_text(stem)
    try:
        with db.session() as session:
            row = add_stem(session, moderator, key, note=note, source="moderator")
            version = new_version(session, note=f"allowlist {key} added", moderator_id=moderator.id)
            record_action(session, "allowlist_added", moderator.id, target=key, note=note,
                          lexicon_version=version.version)
            return stem_view(row)
    except IntegrityError:
        raise errors.AllowStemExists(f"{key!r} is already allowlisted") from None


def add_stem(session: Session, moderator: Moderator, key: str, *, note: str | None, source: str) -> AllowStem:
    """Allowlist a stem in the caller's transaction (the caller makes the new version).

    Raises ``allowlist_entry_exists``.
    """
    if session.scalars(select(AllowStem).where(AllowStem.stem == key)).first() is not None:
        raise errors.AllowStemExists(f"{key!r} is already allowlisted")
    now = utcnow()
    row = AllowStem(stem=key, language=language_of(key), note=note, source=source, created_by=moderator.id,
                    created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


def update_stem(db: Database, moderator: Moderator, stem_id: int, note: str | None) -> dict[str, Any]:
    ensure_seeded(db)
    with db.session() as session:
        row = _stem(session, stem_id)
        before = row.note
        row.note, row.updated_at = note, utcnow()
        record_action(session, "allowlist_updated", moderator.id, target=row.stem, note=note,
                      details={"before": before, "after": note})
        return stem_view(row)


def delete_stem(db: Database, moderator: Moderator, stem_id: int, note: str | None = None) -> None:
    ensure_seeded(db)
    with db.session() as session:
        row = _stem(session, stem_id)
        session.delete(row)
        version = new_version(session, note=f"allowlist {row.stem} removed", moderator_id=moderator.id)
        record_action(session, "allowlist_removed", moderator.id, target=row.stem, note=note,
                      lexicon_version=version.version)


def _stem(session: Session, stem_id: int) -> AllowStem:
    row = session.get(AllowStem, stem_id)
    if row is None:
        raise errors.AllowStemNotFound(f"no allowlist entry {stem_id}")
    return row


def lexicon_info(db: Database) -> dict[str, Any]:
    """The current lexicon version: checksum, note, terms per language, allowlist size, pattern count."""
    matcher = get_matcher(db)
    with db.session() as session:
        row = latest_version(session)
        terms = dict(session.execute(select(ModerationTerm.language, func.count())
                                     .group_by(ModerationTerm.language)).all())
        stems = session.scalar(select(func.count()).select_from(AllowStem))
        return {"version": row.version, "checksum": row.checksum, "note": row.note, "created_at": row.created_at,
                "terms": terms, "allowlist": stems, "patterns": matcher.pattern_count}
