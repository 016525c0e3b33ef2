"""The term lists: seed files, versions in the database, and the cached matcher per version."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import Database, utcnow
from shared.events.outbox import record_event
from shared.moderation.matcher import MODES, SEVERITIES, Matcher, Term, term_key
from shared.moderation.models import AllowStem, LexiconVersion, ModerationTerm
from shared.moderation.normalize import CYRILLIC, script_of

DATA_DIR = Path(__file__).resolve().parent / "data"
SEED_FILES = {"en": DATA_DIR / "terms_en.tsv", "ru": DATA_DIR / "terms_ru.tsv"}
ALLOWLIST_FILE = DATA_DIR / "allowlist.tsv"
LEXICON_CHANGED = "moderation.lexicon_changed"


@dataclass(frozen=True)
class SeedStem:
    stem: str
    note: str
    source: str


def _rows(path: Path):
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            yield [cell.strip() for cell in line.split("\t")]


def read_seed_terms() -> list[Term]:
    """The term lists shipped in ``shared/moderation/data`` (see SOURCES.md there)."""
    terms = []
    for language, path in SEED_FILES.items():
        for term, category, severity, mode, source in _rows(path):
            if severity not in SEVERITIES or mode not in MODES:
                raise ValueError(f"{path.name}: bad row for {term!r}")
            terms.append(Term(term_key(term), category, severity, mode, language, source))
    return terms


def read_seed_allowlist() -> list[SeedStem]:
    return [SeedStem(term_key(stem), note, source) for stem, note, source in _rows(ALLOWLIST_FILE)]


def language_of(text: str) -> str:
    return "ru" if text and script_of(text[0]) == CYRILLIC else "en"


# The advisory lock key of lexicon version numbers (shared/uploads/service.py has its own).
_VERSIONS_LOCK = 0x1E_C510


def lexicon_checksum(session: Session) -> str:
    """SHA-256 over every term and stem: equal lists, equal checksum."""
    digest = hashlib.sha256()
    for row in session.execute(select(ModerationTerm.term, ModerationTerm.category, ModerationTerm.severity,
                                      ModerationTerm.mode).order_by(ModerationTerm.term)):
        digest.update(("T\t" + "\t".join(row) + "\n").encode())
    for (stem,) in session.execute(select(AllowStem.stem).order_by(AllowStem.stem)):
        digest.update(f"A\t{stem}\n".encode())
    return digest.hexdigest()


def latest_version(session: Session) -> LexiconVersion | None:
    return session.scalars(select(LexiconVersion).order_by(LexiconVersion.version.desc()).limit(1)).first()


def new_version(session: Session, *, note: str, moderator_id=None) -> LexiconVersion:
    """Record that the lists changed (call after the change, in the same transaction).

    The outbox event makes the workers re-check stored hashtags once this commits.
    """
    session.flush()
    _lock_versions(session)
    current = session.scalar(select(func.max(LexiconVersion.version))) or 0
    row = LexiconVersion(version=current + 1, checksum=lexicon_checksum(session), note=note[:500],
                         created_by=moderator_id, created_at=utcnow())
    session.add(row)
    session.flush()
    record_event(session, LEXICON_CHANGED, str(row.version), {"version": row.version})
    return row


def _lock_versions(session: Session) -> None:
    """Serialize lexicon changes with a transaction-scoped advisory lock.

    Two edits that both read max(version) would both write max+1 (one then failed as a
    409 or 500). An advisory lock, not a row lock: it holds on an empty table too. The
    statements after it start a fresh snapshot (READ COMMITTED), so the number and the
    checksum include the edit that held the lock before. SQLite's BEGIN IMMEDIATE already
    lets one writer in at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _VERSIONS_LOCK})


def ensure_seeded(db: Database) -> None:
    """Load the shipped lists as version 1 when the database has no lexicon yet."""
    with db.session() as session:
        if latest_version(session) is not None:
            return
    try:
        with db.session() as session:
            if latest_version(session) is not None:
                return
            now = utcnow()
            seen: set[str] = set()
            for term in read_seed_terms():
                if term.term in seen:
                    continue
                seen.add(term.term)
                session.add(ModerationTerm(term=term.term, language=term.language, category=term.category,
                                           severity=term.severity, mode=term.mode, source=term.source,
                                           created_at=now, updated_at=now))
            for stem in read_seed_allowlist():
                session.add(AllowStem(stem=stem.stem, language=language_of(stem.stem), note=stem.note,
                                      source=stem.source, created_at=now, updated_at=now))
            session.flush()
            session.add(LexiconVersion(version=1, checksum=lexicon_checksum(session),
                                       note="seeded from shared/moderation/data", created_at=now))
    except IntegrityError:
        # Another process seeded at the same moment; its lists are the same files.
        pass


_cache_lock = threading.Lock()
_matchers: dict[tuple[str, int, str], Matcher] = {}


def get_matcher(db: Database) -> Matcher:
    """The matcher of the current lexicon version, built once per version and process."""
    with db.session() as session:
        row = latest_version(session)
    if row is None:
        ensure_seeded(db)
        with db.session() as session:
            row = latest_version(session)
    key = (db.url, row.version, row.checksum)
    matcher = _matchers.get(key)
    if matcher is not None:
        return matcher
    with _cache_lock:
        matcher = _matchers.get(key)
        if matcher is None:
            with db.session() as session:
                terms = [Term(t.term, t.category, t.severity, t.mode, t.language, t.source)
                         for t in session.scalars(select(ModerationTerm).order_by(ModerationTerm.id))]
                stems = list(session.scalars(select(AllowStem.stem)))
            matcher = Matcher(terms, stems, version=row.version)
            for old in [k for k in _matchers if k[0] == db.url]:
                del _matchers[old]
            _matchers[key] = matcher
    return matcher
