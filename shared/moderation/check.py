"""Checking hashtags: a verdict per tag, the rows stored tags get, and re-checks after a lexicon change."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import Database, utcnow
from shared.moderation import errors
from shared.moderation import normalize as nz
from shared.moderation.appeals import appeal_brief
from shared.moderation.audit import record_action
from shared.moderation.lexicon import get_matcher
from shared.moderation.matcher import Matcher, Result
from shared.moderation.models import Appeal, Hashtag, HashtagStatus
from shared.moderation.normalize import normalize_tag

MAX_TAG_LENGTH = 100
MAX_TAGS_PER_CHECK = 100

_TAG_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class HashtagVerdict:
    tag: str                      # as the user wrote it, without the leading '#'
    normalized: str
    verdict: str                  # a HashtagStatus value
    reason: str | None            # human words; None when approved
    term: str | None
    view: str | None
    severity: str | None
    lexicon_version: int
    category: str | None = None   # the matched term's (the pages say the reason in the visitor's language)

    def as_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "normalized": self.normalized, "verdict": self.verdict, "reason": self.reason,
                "term": self.term, "view": self.view, "severity": self.severity,
                "lexicon_version": self.lexicon_version}


def parse_hashtags(value: str | Iterable[str] | None) -> list[str]:
    """``"#a #b, c"`` or ``["#a", "b"]`` -> ``["a", "b", "c"]``: '#' dropped, duplicates (by
    normalized form) dropped, order kept. Whitespace, commas and semicolons separate tags."""
    if value is None:
        return []
    items = _TAG_SEPARATORS.split(value) if isinstance(value, str) else [str(v) for v in value]
    tags: list[str] = []
    seen: set[str] = set()
    for item in items:
        tag = item.strip().lstrip("#").strip()
        key = normalize_tag(tag)
        if key and key not in seen:
            seen.add(key)
            tags.append(tag)
    return tags


def _verdict(tag: str, result: Result, version: int) -> HashtagVerdict:
    top = result.top
    return HashtagVerdict(tag=tag, normalized=result.normalized, verdict=result.verdict, reason=result.reason,
                          term=top.term.term if top else None, view=top.view if top else None,
                          severity=top.term.severity if top else None, lexicon_version=version,
                          category=top.term.category if top else None)


def check_hashtags(tags: list[str], db: Database) -> list[HashtagVerdict]:
    """Verdict per tag: a moderator's decision on a stored tag wins, else the current lexicon.

    Raises ``too_many_hashtags`` and ``invalid_hashtag``.
    """
    if len(tags) > MAX_TAGS_PER_CHECK:
        raise errors.TooManyHashtags(f"at most {MAX_TAGS_PER_CHECK} hashtags per check")
    matcher = get_matcher(db)
    tags = [t.strip().lstrip("#").strip() for t in tags]
    for tag in tags:
        _validate_tag(tag)
    keys = {normalize_tag(t) for t in tags}
    decided: dict[str, Hashtag] = {}
    if keys:
        with db.session() as session:
            for row in session.scalars(select(Hashtag).where(Hashtag.normalized.in_(keys),
                                                             Hashtag.decided_by.is_not(None))):
                decided[row.normalized] = row
    verdicts = []
    for tag in tags:
        result = matcher.check(tag)
        row = decided.get(result.normalized)
        verdict = _verdict(tag, result, matcher.version)
        if row is not None and not (result.mixed and row.status == HashtagStatus.APPROVED):
            # A look-alike spelling stays needs_review even when the plain word was approved.
            verdict = HashtagVerdict(tag=tag, normalized=row.normalized, verdict=row.status,
                                     reason=_shown_reason(row), term=verdict.term, view=verdict.view,
                                     severity=verdict.severity, lexicon_version=matcher.version)
        verdicts.append(verdict)
    return verdicts


def _shown_reason(row: Hashtag) -> str | None:
    return None if row.status == HashtagStatus.APPROVED else row.reason


def ensure_publishable(verdicts: list[HashtagVerdict]) -> None:
    """Refuse a submission that carries a rejected tag (needs_review tags may publish, hidden)."""
    rejected = [v for v in verdicts if v.verdict == HashtagStatus.REJECTED]
    if rejected:
        messages = [f"#{v.tag}: {v.reason}" for v in rejected]
        raise errors.HashtagRejected("; ".join(messages), errors={"hashtags": messages})


def _validate_tag(tag: str) -> None:
    if not normalize_tag(tag) or len(tag) > MAX_TAG_LENGTH:
        raise errors.InvalidHashtag(f"a hashtag is 1 to {MAX_TAG_LENGTH} characters: {tag[:120]!r}")


def upsert_hashtags(session: Session, tags: list[str], matcher: Matcher) -> list[Hashtag]:
    """Rows for ``tags`` (created with the automatic verdict when new), in the given order."""
    rows: list[Hashtag] = []
    for tag in tags:
        _validate_tag(tag)
        result = matcher.check(tag)
        row = session.scalars(select(Hashtag).where(Hashtag.normalized == result.normalized)).one_or_none()
        if row is None:
            display, result = canonical_spelling(tag, result, matcher)
            try:
                with session.begin_nested():
                    row = _new_hashtag(session, display, result, matcher.version)
            except IntegrityError:
                row = session.scalars(select(Hashtag).where(Hashtag.normalized == result.normalized)).one()
        rows.append(row)
    return rows


def canonical_spelling(tag: str, result: Result, matcher: Matcher) -> tuple[str, Result]:
    """The display and verdict a stored row gets: those of the canonical key, not of a look-alike spelling.

    ``trаvel`` (Cyrillic ``а``) is stored and shown as ``travel`` with the verdict of ``travel``,
    so whoever writes a look-alike spelling first neither hides the plain tag (needs_review) nor
    shows their spelling. A key that still mixes scripts is checked as such (needs_review).
    """
    if nz.clean(tag).casefold() == result.normalized:
        # Invisible format characters (zero-width, direction overrides) are never shown.
        return "".join(ch for ch in tag if unicodedata.category(ch) != "Cf"), result
    return result.normalized, matcher.check(result.normalized)


def _new_hashtag(session: Session, tag: str, result: Result, version: int) -> Hashtag:
    now = utcnow()
    row = Hashtag(normalized=result.normalized, display=tag[:200], status=result.verdict,
                  reasons=_reasons(result), reason=result.reason, lexicon_version=version,
                  created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    if result.verdict != HashtagStatus.APPROVED:
        record_action(session, "flagged", None, hashtag=row, note=result.reason, lexicon_version=version,
                      details={"status": result.verdict, "reasons": row.reasons})
    return row


def _reasons(result: Result) -> list[dict[str, str]]:
    return [{"term": h.term.term, "category": h.term.category, "severity": h.term.severity, "view": h.view}
            for h in result.hits]


def hashtag_status(db: Database, tag: str) -> dict[str, Any]:
    """What a user sees about one of their tags: the stored status and reason, else the check's verdict."""
    _validate_tag(tag.strip().lstrip("#"))
    key = normalize_tag(tag)
    with db.session() as session:
        row = session.scalars(select(Hashtag).where(Hashtag.normalized == key)).one_or_none()
        if row is not None:
            appeal = session.scalars(select(Appeal).where(Appeal.hashtag_id == row.id)
                                     .order_by(Appeal.created_at.desc()).limit(1)).first()
            return {"tag": row.display, "normalized": row.normalized, "status": row.status,
                    "reason": _shown_reason(row), "decided_by_moderator": row.decided_by is not None,
                    "appeal": appeal_brief(appeal), "lexicon_version": row.lexicon_version}
    verdict = check_hashtags([tag], db)[0]
    return {"tag": verdict.tag, "normalized": verdict.normalized, "status": verdict.verdict,
            "reason": verdict.reason, "decided_by_moderator": False, "appeal": None,
            "lexicon_version": verdict.lexicon_version}


def recheck_hashtags(db: Database, *, batch_size: int = 500) -> dict[str, int]:
    """Re-check stored tags that the automatic check decided under an older lexicon version.

    Tags a moderator decided are left alone. Safe to run twice: a second run finds nothing.
    """
    matcher = get_matcher(db)
    counts = {"checked": 0, "changed": 0}
    last_id = 0
    while True:
        with db.session() as session:
            query = (select(Hashtag).where(Hashtag.decided_by.is_(None), Hashtag.lexicon_version < matcher.version,
                                           Hashtag.id > last_id).order_by(Hashtag.id).limit(batch_size))
            rows = list(session.scalars(query if db.is_sqlite else query.with_for_update(skip_locked=True)))
            if not rows:
                return counts
            for row in rows:
                last_id = row.id
                result = matcher.check(row.normalized)
                counts["checked"] += 1
                if result.verdict != row.status:
                    record_action(session, "rechecked", None, hashtag=row, note=result.reason,
                                  lexicon_version=matcher.version,
                                  details={"from": row.status, "to": result.verdict, "reasons": _reasons(result)})
                    counts["changed"] += 1
                    row.status = result.verdict
                row.reasons, row.reason = _reasons(result), result.reason
                row.lexicon_version, row.updated_at = matcher.version, utcnow()
