"""Tenant resolution from API keys, and key issuing."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from sqlalchemy import select

from shared.db import Database, utcnow
from shared.errors import NotFound, Unauthorized
from shared.settings import Settings
from shared.tenants.models import DEFAULT_TENANT_ID, ApiKey, Tenant

KEY_PREFIX = "sr_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def resolve_tenant(db: Database, settings: Settings, api_key: str | None) -> uuid.UUID:
    """Return the tenant id of ``api_key``; anonymous calls get the default tenant only when embedded."""
    if not api_key:
        if settings.is_production:
            raise Unauthorized("an API key is required: Authorization: Bearer <key>", code="api_key_required")
        return DEFAULT_TENANT_ID
    with db.session() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(api_key),
                                                   ApiKey.revoked_at.is_(None))).one_or_none()
        if row is None:
            raise Unauthorized("the API key is unknown or revoked", code="invalid_api_key")
        return row.tenant_id


def issue_key(db: Database, tenant_name: str) -> str:
    """Create an API key for a tenant and return it; only its hash is stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with db.session() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.name == tenant_name)).one_or_none()
        if tenant is None:
            raise NotFound(f"no tenant named {tenant_name!r}", code="tenant_not_found")
        session.add(ApiKey(tenant_id=tenant.id, key_hash=hash_key(key), prefix=key[:10], created_at=utcnow()))
    return key
