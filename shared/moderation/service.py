"""Moderation use cases: checking tags, the moderator queue and decisions, lists, appeals.

Everything here takes its dependencies as arguments (a :class:`Database`, a moderator)
and raises the errors of :mod:`shared.moderation.errors`; nothing knows about HTTP.
"""

from __future__ import annotations

import hmac
import re
import secrets
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import Database, utcnow
from shared.moderation import errors
from shared.moderation import normalize as nz
from shared.moderation.lexicon import ensure_seeded, get_matcher, language_of, latest_version, new_version
from shared.moderation.matcher import MODES, SEVERITIES, Matcher, Result, term_key
from shared.moderation.models import AllowStem, Appeal, Hashtag, ModerationAction, ModerationTerm, Moderator
from shared.moderation.normalize import normalize_tag
from shared.security import bootstrap_token, hash_token
from shared.settings import Settings

MAX_TAG_LENGTH = 100
MAX_TAGS_PER_CHECK = 100
TOKEN_PREFIX = "mod_"

_TAG_SEPARATORS = re.compile(r"[\s,;]+")


# -- checking -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HashtagVerdict:
    tag: str                      # as the user wrote it, without the leading '#'
    normalized: str
    verdict: str                  # approved | needs_review | rejected
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
    """Verdict per tag: a moderator's decision on a stored tag wins, else the current lexicon."""
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
        if row is not None and not (result.mixed and row.status == "approved"):
            # A look-alike spelling stays needs_review even when the plain word was approved.
            verdict = HashtagVerdict(tag=tag, normalized=row.normalized, verdict=row.status,
                                     reason=None if row.status == "approved" else row.reason,
                                     term=verdict.term, view=verdict.view, severity=verdict.severity,
                                     lexicon_version=matcher.version)
        verdicts.append(verdict)
    return verdicts


def ensure_publishable(verdicts: list[HashtagVerdict]) -> None:
    """Refuse a submission that carries a rejected tag (needs_review tags may publish, hidden)."""
    rejected = [v for v in verdicts if v.verdict == "rejected"]
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
    if result.verdict != "approved":
        _audit(session, "flagged", None, hashtag=row, note=result.reason, lexicon_version=version,
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
                    "reason": None if row.status == "approved" else row.reason,
                    "decided_by_moderator": row.decided_by is not None,
                    "appeal": _appeal_brief(appeal), "lexicon_version": row.lexicon_version}
    verdict = check_hashtags([tag], db)[0]
    return {"tag": verdict.tag, "normalized": verdict.normalized, "status": verdict.verdict,
            "reason": verdict.reason, "decided_by_moderator": False, "appeal": None,
            "lexicon_version": verdict.lexicon_version}


def _appeal_brief(appeal: Appeal | None) -> dict[str, Any] | None:
    if appeal is None:
        return None
    return {"id": appeal.id, "status": appeal.status, "decision_note": appeal.decision_note}


# -- moderators -----------------------------------------------------------------------------




def authenticate(db: Database, settings: Settings, token: str | None) -> Moderator:
    """The moderator behind a bearer token; ``MODERATOR_TOKEN`` bootstraps the first one."""
    if not token:
        raise errors.ModeratorTokenRequired("send Authorization: Bearer <moderator token>")
    digest = hash_token(token)
    with db.session() as session:
        row = session.scalars(select(Moderator).where(Moderator.token_hash == digest)).one_or_none()
        if row is not None and not row.is_bootstrap:
            if row.revoked_at is not None:
                raise errors.InvalidModeratorToken("the moderator token was revoked")
            return row
    # The bootstrap moderator's token is whatever MODERATOR_TOKEN says now: an old one
    # stops working as soon as the setting is changed or removed.
    bootstrap = bootstrap_token(settings, "MODERATOR_TOKEN")  # "" when too short to be safe
    if bootstrap and hmac.compare_digest(token.encode(), bootstrap.encode()):
        return _bootstrap_moderator(db, digest)
    raise errors.InvalidModeratorToken("the moderator token is unknown")


def _bootstrap_moderator(db: Database, digest: str) -> Moderator:
    try:
        with db.session() as session:
            row = session.scalars(select(Moderator).where(Moderator.is_bootstrap.is_(True))).one_or_none()
            if row is None:
                row = Moderator(name="bootstrap", token_hash=digest, token_prefix=TOKEN_PREFIX, is_bootstrap=True,
                                created_at=utcnow())
                session.add(row)
                session.flush()
                _audit(session, "moderator_bootstrapped", row.id, target=row.name)
            else:
                # MODERATOR_TOKEN changed: the bootstrap moderator keeps its identity (and history).
                row.token_hash, row.revoked_at = digest, None
            return row
    except IntegrityError:
        with db.session() as session:
            return session.scalars(select(Moderator).where(Moderator.token_hash == digest)).one()


def is_admin(moderator: Moderator) -> bool:
    """Whether ``moderator`` may issue and revoke tokens (the bootstrap one always may)."""
    return moderator.role == "admin"


def issue_moderator(db: Database, name: str, created_by: Moderator | None, *,
                    admin: bool = False) -> tuple[Moderator, str]:
    """Create a moderator and return it with its token (only the hash is kept).

    ``created_by`` None is the command line (whoever runs it holds the database). Raises
    ``moderator_admin_required`` when a plain moderator tries to issue one.
    """
    if created_by is not None and not is_admin(created_by):
        raise errors.ModeratorAdminRequired("only an admin moderator issues tokens")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with db.session() as session:
            if created_by is not None:
                _lock_live_minter(session, db, created_by.id)
            row = Moderator(name=name.strip()[:100], token_hash=hash_token(token), token_prefix=token[:12],
                            is_admin=admin, created_by=created_by.id if created_by else None, created_at=utcnow())
            session.add(row)
            session.flush()
            _audit(session, "moderator_issued", created_by.id if created_by else None, target=row.name,
                   details={"moderator_id": str(row.id), "is_admin": admin})
    except IntegrityError:
        raise errors.ModeratorExists(f"a moderator named {name!r} exists") from None
    return row, token


def _lock_live_minter(session: Session, db: Database, minter_id: uuid.UUID) -> None:
    # The revocation locks the same row, so a token minted concurrently is either seen
    # by the cascade or refused here.
    minter = session.get(Moderator, minter_id, with_for_update=not db.is_sqlite)
    if minter is None or minter.revoked_at is not None:
        raise errors.InvalidModeratorToken("the moderator token was revoked")


def list_moderators(db: Database) -> list[Moderator]:
    with db.session() as session:
        return list(session.scalars(select(Moderator).order_by(Moderator.created_at)))


def revoke_moderator(db: Database, moderator_id: uuid.UUID, by: Moderator) -> Moderator:
    """Revoke a moderator and every token it minted, transitively (their holders got them from it).

    Raises ``moderator_admin_required`` for a plain moderator, ``moderator_is_bootstrap`` for
    the bootstrap one.
    """
    if not is_admin(by):
        raise errors.ModeratorAdminRequired("only an admin moderator revokes tokens")
    with db.session() as session:
        row = session.get(Moderator, moderator_id, with_for_update=not db.is_sqlite)
        if row is None:
            raise errors.ModeratorNotFound(f"no moderator {moderator_id}")
        if row.is_bootstrap:
            raise errors.BootstrapModerator("unset or change MODERATOR_TOKEN instead")
        now = utcnow()
        _revoke(session, row, by, now, cascade_from=None)
        pending = [row]
        while pending:
            parent = pending.pop()
            # Read after the parent's lock: a token it minted meanwhile is committed and seen.
            query = select(Moderator).where(Moderator.created_by == parent.id)
            for child in session.scalars(query if db.is_sqlite else query.with_for_update()):
                _revoke(session, child, by, now, cascade_from=row)
                pending.append(child)
        return row


def _revoke(session: Session, row: Moderator, by: Moderator, now, *, cascade_from: Moderator | None) -> None:
    if row.revoked_at is not None:
        return
    row.revoked_at = now
    details = {"moderator_id": str(row.id)}
    if cascade_from is not None:
        details["minted_under"] = str(cascade_from.id)
    _audit(session, "moderator_revoked", by.id, target=row.name, details=details)


# -- separation of duties -----------------------------------------------------------------------


def decider_chain(session: Session, decider_id: uuid.UUID | None) -> set[uuid.UUID]:
    """Who holds, or could hold, the decider's token: they may not review its decision.

    Walk up from the decider through plain minters (a plain moderator who minted a token,
    before minting needed an admin, saw it) to the topmost one; the chain is that moderator
    and everything minted under it, transitively. Admins above are the root of trust and
    stay outside; an admin decider's own subtree is inside.
    """
    if decider_id is None:
        return set()
    rows = {row.id: row for row in session.execute(
        select(Moderator.id, Moderator.created_by, Moderator.is_admin, Moderator.is_bootstrap))}
    top = decider_id
    while top in rows and not (rows[top].is_admin or rows[top].is_bootstrap):
        minter = rows[top].created_by
        if minter is None or minter not in rows or rows[minter].is_admin or rows[minter].is_bootstrap:
            break
        top = minter
    children: dict[uuid.UUID, list[uuid.UUID]] = {}
    for row in rows.values():
        children.setdefault(row.created_by, []).append(row.id)
    chain, pending = {top}, [top]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in chain:
                chain.add(child)
                pending.append(child)
    return chain


def _decider_details(moderator: Moderator) -> dict[str, Any]:
    return {"decider_minted_by": str(moderator.created_by) if moderator.created_by else None,
            "decider_is_admin": is_admin(moderator)}


# -- queue and decisions ----------------------------------------------------------------------


def _page(query, page: int, per_page: int):
    return query.limit(per_page).offset((page - 1) * per_page)


def list_hashtags(db: Database, *, status: str | None = None, q: str | None = None, page: int = 1,
                  per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    """Hashtags with their context (profiles that use them), oldest first."""
    from shared.profiles.models import Profile, ProfileHashtag, User

    with db.session() as session:
        query = select(Hashtag)
        if status:
            query = query.where(Hashtag.status == status)
        if q:
            query = query.where(Hashtag.normalized.contains(normalize_tag(q)))
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = list(session.scalars(_page(query.order_by(Hashtag.created_at, Hashtag.id), page, per_page)))
        ids = [row.id for row in rows]
        profiles: dict[int, list[dict[str, Any]]] = {}
        if ids:
            links = session.execute(
                select(ProfileHashtag.hashtag_id, User.wallet, Profile.name, Profile.is_incognito,
                       Profile.published_at)
                .join(Profile, Profile.id == ProfileHashtag.profile_id).join(User, User.id == Profile.user_id)
                .where(ProfileHashtag.hashtag_id.in_(ids)).order_by(Profile.created_at))
            for hashtag_id, wallet, name, incognito, published_at in links:
                profiles.setdefault(hashtag_id, []).append(
                    {"wallet": wallet, "name": name, "is_incognito": incognito, "published_at": published_at})
        return [hashtag_view(row, profiles.get(row.id, [])) for row in rows], total


def hashtag_view(row: Hashtag, profiles: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": row.id, "tag": row.display, "normalized": row.normalized, "status": row.status,
            "reasons": row.reasons, "reason": row.reason, "lexicon_version": row.lexicon_version,
            "decided_by": row.decided_by, "decided_at": row.decided_at, "created_at": row.created_at,
            "updated_at": row.updated_at, "profiles": profiles or []}


def get_hashtag(db: Database, hashtag_id: int) -> dict[str, Any]:
    with db.session() as session:
        row = session.get(Hashtag, hashtag_id)
        if row is None:
            raise errors.HashtagNotFound(f"no hashtag {hashtag_id}")
    return hashtag_view(row, _profiles_of(db, hashtag_id))


def _profiles_of(db: Database, hashtag_id: int) -> list[dict[str, Any]]:
    from shared.profiles.models import Profile, ProfileHashtag, User

    with db.session() as session:
        links = session.execute(
            select(User.wallet, Profile.name, Profile.is_incognito, Profile.published_at)
            .join(Profile, Profile.id == ProfileHashtag.profile_id).join(User, User.id == Profile.user_id)
            .where(ProfileHashtag.hashtag_id == hashtag_id).order_by(Profile.created_at))
        return [{"wallet": w, "name": n, "is_incognito": i, "published_at": p} for w, n, i, p in links]


def decide(db: Database, hashtag_id: int, moderator: Moderator, decision: str, note: str | None,
           feed_lexicon: bool = False) -> dict[str, Any]:
    """Approve or reject a hashtag; optionally feed the decision into the lists."""
    ensure_seeded(db)
    status = {"approve": "approved", "reject": "rejected"}[decision]
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
        if status == "rejected":
            row.reason = f"rejected by a moderator: {note}" if note else (row.reason or "rejected by a moderator")
        else:
            row.reason = None
        _audit(session, decision, moderator.id, hashtag=row, note=note,
               lexicon_version=version.version if version else None,
               details={"from": before, "to": status} | _decider_details(moderator))
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
        added = _add_term(session, moderator, key, category="moderator", severity="high", mode="word", note=note,
                          source="moderator")
        action, details = "term_added", term_view(added) | _no_dates()
    else:
        if session.scalars(select(AllowStem).where(AllowStem.stem == key)).first() is not None:
            return
        _add_stem(session, moderator, key, note=note, source="moderator")
        action, details = "allowlist_added", {}
    version = new_version(session, note=f"{decision} of #{row.display} fed the lists", moderator_id=moderator.id)
    _audit(session, action, moderator.id, target=key, note=note, details=details, lexicon_version=version.version)


# -- terms and allowlist ------------------------------------------------------------------------


def _clean_text(value: str) -> str:
    key = term_key(value)
    if not (2 <= len(key) <= 100) or len(key) != len(normalize_tag(value)):
        raise errors.InvalidTerm(f"{value!r}: use 2 to 100 letters, no digits or symbols")
    return key


def term_view(row: ModerationTerm) -> dict[str, Any]:
    return {"id": row.id, "term": row.term, "language": row.language, "category": row.category,
            "severity": row.severity, "mode": row.mode, "source": row.source, "note": row.note,
            "created_at": row.created_at, "updated_at": row.updated_at}


def stem_view(row: AllowStem) -> dict[str, Any]:
    return {"id": row.id, "stem": row.stem, "language": row.language, "note": row.note, "source": row.source,
            "created_at": row.created_at, "updated_at": row.updated_at}


def list_terms(db: Database, *, q: str | None = None, language: str | None = None, page: int = 1,
               per_page: int = 100) -> tuple[list[dict[str, Any]], int]:
    ensure_seeded(db)
    with db.session() as session:
        query = select(ModerationTerm)
        if q:
            query = query.where(ModerationTerm.term.contains(term_key(q)))
        if language:
            query = query.where(ModerationTerm.language == language)
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(_page(query.order_by(ModerationTerm.term), page, per_page))
        return [term_view(r) for r in rows], total


def get_term(db: Database, term_id: int) -> dict[str, Any]:
    ensure_seeded(db)
    with db.session() as session:
        row = session.get(ModerationTerm, term_id)
        if row is None:
            raise errors.TermNotFound(f"no term {term_id}")
        return term_view(row)


def create_term(db: Database, moderator: Moderator, *, term: str, category: str, severity: str, mode: str,
                note: str | None = None) -> dict[str, Any]:
    ensure_seeded(db)
    key = _clean_text(term)
    try:
        with db.session() as session:
            row = _add_term(session, moderator, key, category=category, severity=severity, mode=mode, note=note,
                            source="moderator")
            version = new_version(session, note=f"term {key} added", moderator_id=moderator.id)
            _audit(session, "term_added", moderator.id, target=key, note=note,
                   details=term_view(row) | _no_dates(), lexicon_version=version.version)
            return term_view(row)
    except IntegrityError:
        raise errors.TermExists(f"{key!r} is already listed") from None


def _add_term(session: Session, moderator: Moderator, key: str, *, category: str, severity: str, mode: str,
              note: str | None, source: str) -> ModerationTerm:
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
        row = session.get(ModerationTerm, term_id)
        if row is None:
            raise errors.TermNotFound(f"no term {term_id}")
        before = term_view(row) | _no_dates()
        for name in ("category", "severity", "mode", "note"):
            if name in changes and changes[name] is not None:
                setattr(row, name, changes[name])
        if row.severity not in SEVERITIES or row.mode not in MODES:
            raise errors.InvalidTerm(f"severity is one of {SEVERITIES}, mode one of {MODES}")
        row.updated_at = utcnow()
        after = term_view(row) | _no_dates()
        version = new_version(session, note=f"term {row.term} changed", moderator_id=moderator.id)
        _audit(session, "term_updated", moderator.id, target=row.term, note=changes.get("note"),
               details={"before": before, "after": after}, lexicon_version=version.version)
        return term_view(row)


def delete_term(db: Database, moderator: Moderator, term_id: int, note: str | None = None) -> None:
    ensure_seeded(db)
    with db.session() as session:
        row = session.get(ModerationTerm, term_id)
        if row is None:
            raise errors.TermNotFound(f"no term {term_id}")
        details = term_view(row) | _no_dates()
        session.delete(row)
        version = new_version(session, note=f"term {row.term} removed", moderator_id=moderator.id)
        _audit(session, "term_removed", moderator.id, target=row.term, note=note, details=details,
               lexicon_version=version.version)


def list_allowlist(db: Database, *, q: str | None = None, page: int = 1,
                   per_page: int = 100) -> tuple[list[dict[str, Any]], int]:
    ensure_seeded(db)
    with db.session() as session:
        query = select(AllowStem)
        if q:
            query = query.where(AllowStem.stem.contains(term_key(q)))
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(_page(query.order_by(AllowStem.stem), page, per_page))
        return [stem_view(r) for r in rows], total


def create_stem(db: Database, moderator: Moderator, *, stem: str, note: str | None = None) -> dict[str, Any]:
    ensure_seeded(db)
    key = _clean_text(stem)
    try:
        with db.session() as session:
            row = _add_stem(session, moderator, key, note=note, source="moderator")
            version = new_version(session, note=f"allowlist {key} added", moderator_id=moderator.id)
            _audit(session, "allowlist_added", moderator.id, target=key, note=note, lexicon_version=version.version)
            return stem_view(row)
    except IntegrityError:
        raise errors.AllowStemExists(f"{key!r} is already allowlisted") from None


def _add_stem(session: Session, moderator: Moderator, key: str, *, note: str | None, source: str) -> AllowStem:
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
        row = session.get(AllowStem, stem_id)
        if row is None:
            raise errors.AllowStemNotFound(f"no allowlist entry {stem_id}")
        before = row.note
        row.note, row.updated_at = note, utcnow()
        _audit(session, "allowlist_updated", moderator.id, target=row.stem, note=note,
               details={"before": before, "after": note})
        return stem_view(row)


def delete_stem(db: Database, moderator: Moderator, stem_id: int, note: str | None = None) -> None:
    ensure_seeded(db)
    with db.session() as session:
        row = session.get(AllowStem, stem_id)
        if row is None:
            raise errors.AllowStemNotFound(f"no allowlist entry {stem_id}")
        session.delete(row)
        version = new_version(session, note=f"allowlist {row.stem} removed", moderator_id=moderator.id)
        _audit(session, "allowlist_removed", moderator.id, target=row.stem, note=note,
               lexicon_version=version.version)


def lexicon_info(db: Database) -> dict[str, Any]:
    matcher = get_matcher(db)
    with db.session() as session:
        row = latest_version(session)
        terms = dict(session.execute(select(ModerationTerm.language, func.count())
                                     .group_by(ModerationTerm.language)).all())
        stems = session.scalar(select(func.count()).select_from(AllowStem))
        return {"version": row.version, "checksum": row.checksum, "note": row.note, "created_at": row.created_at,
                "terms": terms, "allowlist": stems, "patterns": matcher.pattern_count}


def _no_dates() -> dict[str, Any]:
    return {"created_at": None, "updated_at": None}


# -- re-check after a lexicon change --------------------------------------------------------------


def recheck_hashtags(db: Database, *, batch_size: int = 500) -> dict[str, int]:
    """Re-check stored tags that the automatic check decided under an older lexicon version.

    Tags a moderator decided are left alone. Safe to run twice: a second run finds nothing.
    """
    matcher = get_matcher(db)
    counts = {"checked": 0, "changed": 0}
    last_id = 0
    while True:
        with db.session() as session:
            rows = list(session.scalars(
                select(Hashtag).where(Hashtag.decided_by.is_(None), Hashtag.lexicon_version < matcher.version,
                                      Hashtag.id > last_id)
                .order_by(Hashtag.id).limit(batch_size).with_for_update(skip_locked=True)
                if not db.is_sqlite else
                select(Hashtag).where(Hashtag.decided_by.is_(None), Hashtag.lexicon_version < matcher.version,
                                      Hashtag.id > last_id).order_by(Hashtag.id).limit(batch_size)))
            if not rows:
                return counts
            for row in rows:
                last_id = row.id
                result = matcher.check(row.normalized)
                counts["checked"] += 1
                if result.verdict != row.status:
                    _audit(session, "rechecked", None, hashtag=row, note=result.reason,
                           lexicon_version=matcher.version,
                           details={"from": row.status, "to": result.verdict, "reasons": _reasons(result)})
                    counts["changed"] += 1
                    row.status = result.verdict
                row.reasons, row.reason = _reasons(result), result.reason
                row.lexicon_version, row.updated_at = matcher.version, utcnow()


# -- appeals ------------------------------------------------------------------------------------


def appeal_view(row: Appeal, hashtag: Hashtag | None = None) -> dict[str, Any]:
    out = {"id": row.id, "hashtag_id": row.hashtag_id, "wallet": row.wallet, "message": row.message,
           "status": row.status, "original_decider_id": row.original_decider_id, "decided_by": row.decided_by,
           "decision_note": row.decision_note, "decided_at": row.decided_at, "created_at": row.created_at}
    if hashtag is not None:
        out["hashtag"] = hashtag_view(hashtag)
    return out


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
        if row.status != "rejected":
            raise errors.AppealNotAllowed(f"#{row.display} is {row.status}")
        existing = session.scalars(select(Appeal).where(Appeal.hashtag_id == row.id,
                                                        Appeal.status == "open")).first()
        if existing is not None:
            if existing.wallet != wallet:
                raise errors.AppealAlreadyOpen(f"an appeal of #{row.display} is open; its outcome shows at "
                                               f"GET /api/hashtags/{row.normalized}/")
            return appeal_view(existing, row), False
        appeal = Appeal(hashtag_id=row.id, wallet=wallet, message=message, status="open",
                        original_decider_id=row.decided_by, created_at=utcnow())
        session.add(appeal)
        session.flush()
        _audit(session, "appeal_opened", None, hashtag=row, note=message,
               details={"appeal_id": str(appeal.id), "wallet": wallet})
        return appeal_view(appeal, row), True


def list_appeals(db: Database, *, status: str | None = "open", page: int = 1,
                 per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    with db.session() as session:
        query = select(Appeal, Hashtag).join(Hashtag, Hashtag.id == Appeal.hashtag_id)
        if status:
            query = query.where(Appeal.status == status)
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.execute(_page(query.order_by(Appeal.created_at), page, per_page)).all()
        return [appeal_view(appeal, hashtag) for appeal, hashtag in rows], total


def decide_appeal(db: Database, appeal_id: uuid.UUID, moderator: Moderator, decision: str,
                  note: str | None) -> dict[str, Any]:
    """Uphold or overturn a rejection; never from the chain of the moderator whose decision is appealed."""
    with db.session() as session:
        appeal = session.get(Appeal, appeal_id, with_for_update=not db.is_sqlite)
        if appeal is None:
            raise errors.AppealNotFound(f"no appeal {appeal_id}")
        if appeal.status != "open":
            raise errors.AppealAlreadyDecided(f"the appeal was {appeal.status}")
        hashtag = session.get(Hashtag, appeal.hashtag_id, with_for_update=not db.is_sqlite)
        # The tag's current decider counts too: it may have decided again while the appeal was open.
        for decider_id in {appeal.original_decider_id, hashtag.decided_by} - {None}:
            if moderator.id in decider_chain(session, decider_id):
                raise errors.AppealNeedsAnotherModerator(
                    "this tag was decided by you or by a token in your minting chain; a moderator outside "
                    "that chain reviews the appeal")
        now = utcnow()
        appeal.status = "overturned" if decision == "overturn" else "upheld"
        appeal.decided_by, appeal.decided_at, appeal.decision_note = moderator.id, now, note
        version = latest_version(session)
        if appeal.status == "overturned":
            hashtag.status, hashtag.reason = "approved", None
            hashtag.decided_by, hashtag.decided_at, hashtag.updated_at = moderator.id, now, now
        elif note:
            hashtag.reason = f"rejection upheld on appeal: {note}"
            hashtag.updated_at = now
        _audit(session, f"appeal_{appeal.status}", moderator.id, hashtag=hashtag, note=note,
               lexicon_version=version.version if version else None,
               details={"appeal_id": str(appeal.id), "original_decider_id":
                        str(appeal.original_decider_id) if appeal.original_decider_id else None}
               | _decider_details(moderator))
        return appeal_view(appeal, hashtag)


# -- audit --------------------------------------------------------------------------------------


def _audit(session: Session, action: str, moderator_id, *, hashtag: Hashtag | None = None, target: str = "",
           note: str | None = None, details: dict[str, Any] | None = None,
           lexicon_version: int | None = None) -> ModerationAction:
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
    with db.session() as session:
        query = select(ModerationAction, Moderator.name).outerjoin(Moderator,
                                                                    Moderator.id == ModerationAction.moderator_id)
        if hashtag_id is not None:
            query = query.where(ModerationAction.hashtag_id == hashtag_id)
        if moderator_id is not None:
            query = query.where(ModerationAction.moderator_id == moderator_id)
        if action:
            query = query.where(ModerationAction.action == action)
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.execute(_page(query.order_by(ModerationAction.id.desc()), page, per_page)).all()
        return [{"id": a.id, "action": a.action, "moderator_id": a.moderator_id, "moderator": name or "system",
                 "hashtag_id": a.hashtag_id, "target": a.target, "note": a.note, "details": a.details,
                 "lexicon_version": a.lexicon_version, "created_at": a.created_at} for a, name in rows], total
