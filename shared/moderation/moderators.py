"""Moderators: their tokens (``MODERATOR_TOKEN`` bootstraps the first), issuing and revoking them, and
who may review whose decision (separation of duties)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import Database, utcnow
from shared.moderation import errors
from shared.moderation.audit import record_action
from shared.moderation.models import Moderator
from shared.security import StaffTokens, hash_token
from shared.settings import Settings

MODERATOR_TOKENS = StaffTokens(prefix="mod_", setting="MODERATOR_TOKEN", shown=12)


def authenticate(db: Database, settings: Settings, token: str | None) -> Moderator:
    """The moderator behind a bearer token; ``MODERATOR_TOKEN`` bootstraps the first one.

    Raises ``moderator_token_required`` without a token, ``invalid_moderator_token`` for an
    unknown or revoked one.
    """
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
    if MODERATOR_TOKENS.is_bootstrap(settings, token):
        if row is not None and row.revoked_at is None:
            return row  # stored with this token already: nothing to write on every request
        return _bootstrap_moderator(db, digest)
    raise errors.InvalidModeratorToken("the moderator token is unknown")


def _bootstrap_moderator(db: Database, digest: str) -> Moderator:
    try:
        with db.session() as session:
            row = session.scalars(select(Moderator).where(Moderator.is_bootstrap.is_(True))).one_or_none()
            if row is None:
                row = Moderator(name="bootstrap", token_hash=digest, token_prefix=MODERATOR_TOKENS.prefix,
                                is_bootstrap=True, created_at=utcnow())
                session.add(row)
                session.flush()
                record_action(session, "moderator_bootstrapped", row.id, target=row.name)
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
    issued = MODERATOR_TOKENS.issue()
    try:
        with db.session() as session:
            if created_by is not None:
                _lock_live_minter(session, db, created_by.id)
            row = Moderator(name=name.strip()[:100], token_hash=issued.digest, token_prefix=issued.head,
                            is_admin=admin, created_by=created_by.id if created_by else None, created_at=utcnow())
            session.add(row)
            session.flush()
            record_action(session, "moderator_issued", created_by.id if created_by else None, target=row.name,
                          details={"moderator_id": str(row.id), "is_admin": admin})
    except IntegrityError:
        raise errors.ModeratorExists(f"a moderator named {name!r} exists") from None
    return row, issued.token


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


def _revoke(session: Session, row: Moderator, by: Moderator, now: datetime, *,
            cascade_from: Moderator | None) -> None:
    if row.revoked_at is not None:
        return
    row.revoked_at = now
    details = {"moderator_id": str(row.id)}
    if cascade_from is not None:
        details["minted_under"] = str(cascade_from.id)
    record_action(session, "moderator_revoked", by.id, target=row.name, details=details)


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


def decider_details(moderator: Moderator) -> dict[str, Any]:
    """What the audit log records about a decider: who minted its token, whether it is an admin."""
    return {"decider_minted_by": str(moderator.created_by) if moderator.created_by else None,
            "decider_is_admin": is_admin(moderator)}
