"""Ops bearer tokens: ``OPS_TOKEN`` bootstraps one; more are issued on the box and stored hashed."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from shared.db import Database, utcnow
from shared.ops.errors import InvalidOpsToken, OpsTokenNotConfigured, OpsTokenNotFound, OpsTokenRequired
from shared.ops.models import OpsToken
from shared.security import STAFF_TOKEN_MIN_LENGTH, StaffTokens, hash_token, same_token
from shared.settings import Settings

OPS_TOKENS = StaffTokens(prefix="ops_", setting="OPS_TOKEN", shown=10)


def authenticate(db: Database, settings: Settings, token: str | None) -> str:
    """Return who holds ``token``: ``"OPS_TOKEN"`` or ``"token:<name>"`` of an issued token.

    Raises 403 ``ops_token_not_configured`` when there is no ops token at all (the
    ops API is off), 401 ``ops_token_required`` without a token and 403
    ``invalid_ops_token`` for an unknown or revoked one. An OPS_TOKEN shorter than
    STAFF_TOKEN_MIN_LENGTH counts as unset (shared.security.bootstrap_token).
    """
    bootstrap = OPS_TOKENS.bootstrap(settings)
    issued = None
    if token:
        with db.session() as session:
            issued = session.scalars(select(OpsToken).where(OpsToken.token_hash == hash_token(token),
                                                            OpsToken.revoked_at.is_(None))).one_or_none()
    if not bootstrap and issued is None and not _any_issued(db):
        raise OpsTokenNotConfigured(f"the ops API is off: set OPS_TOKEN (at least {STAFF_TOKEN_MIN_LENGTH} characters)")
    if not token:
        raise OpsTokenRequired("the ops token is required: Authorization: Bearer <token>")
    if same_token(token, bootstrap):
        return "OPS_TOKEN"
    if issued is None:
        raise InvalidOpsToken("the ops token is not valid")
    return f"token:{issued.name}"


def _any_issued(db: Database) -> bool:
    with db.session() as session:
        return session.scalar(select(OpsToken.id).where(OpsToken.revoked_at.is_(None)).limit(1)) is not None


def issue(db: Database, name: str) -> tuple[OpsToken, str]:
    """Create a token; the token itself is returned once and only its hash is kept."""
    issued = OPS_TOKENS.issue()
    row = OpsToken(id=uuid.uuid4(), name=name[:100], token_hash=issued.digest, prefix=issued.head, created_at=utcnow())
    with db.session() as session:
        session.add(row)
    return row, issued.token


def list_tokens(db: Database) -> list[OpsToken]:
    with db.session() as session:
        return list(session.scalars(select(OpsToken).order_by(OpsToken.created_at)))


def revoke(db: Database, token_id: uuid.UUID) -> OpsToken:
    with db.session() as session:
        row = session.get(OpsToken, token_id)
        if row is None:
            raise OpsTokenNotFound(f"no ops token {token_id}")
        row.revoked_at = row.revoked_at or utcnow()
        return row
