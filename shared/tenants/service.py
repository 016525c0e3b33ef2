"""Tenants (business clients): API keys, storage connections, limits, webhook secrets.

Ops create and manage tenants (``api/tenants`` and the ``flask tenants`` CLI call the
functions here). API keys are shown once and stored as SHA-256; a tenant may hold
several active keys so that a client can rotate without downtime.
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from sqlalchemy import column, delete, func, select, table
from sqlalchemy.exc import IntegrityError

from shared.db import Database, utcnow
from shared.security import hash_token
from shared.settings import Settings
from shared.tenants import storage as tenant_storage
from shared.tenants.errors import (
    ApiKeyNotFound,
    ApiKeyRequired,
    InvalidApiKey,
    InvalidLimits,
    InvalidTenantName,
    TenantExists,
    TenantInUse,
    TenantNotFound,
    TooManyWebhookSecrets,
    WebhookSecretNotFound,
)
from shared.tenants.info import TenantInfo, forget_tenant, tenant_info
from shared.tenants.models import DEFAULT_TENANT_ID, DEFAULT_TENANT_NAME, ApiKey, Tenant
from shared.tenants.secrets import new_secret, parse_secrets, secret_key

KEY_PREFIX = "sr_"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
LIMIT_NAMES = ("requests_per_minute", "video_concurrency")


# Media jobs are named by table: shared.jobs depends on tenants, so tenants do not import it.
_MEDIA_JOBS = table("media_jobs", column("tenant_id"))

hash_key = hash_token  # API keys are tokens like any other


def resolve_tenant(db: Database, settings: Settings, api_key: str | None) -> uuid.UUID:
    """Return the tenant id of ``api_key``; anonymous calls get the default tenant only when embedded."""
    if not api_key:
        if settings.is_production:
            raise ApiKeyRequired("an API key is required: Authorization: Bearer <key>")
        return DEFAULT_TENANT_ID
    with db.session() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(api_key),
                                                   ApiKey.revoked_at.is_(None))).one_or_none()
        if row is None:
            raise InvalidApiKey("the API key is unknown or revoked")
        return row.tenant_id


def issue_key(db: Database, tenant_name: str) -> str:
    """Create an API key for the tenant named ``tenant_name`` and return it; only its hash is stored."""
    with db.session() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.name == tenant_name)).one_or_none()
        if tenant is None:
            raise TenantNotFound(f"no tenant named {tenant_name!r}")
        tenant_id = tenant.id
    return create_key(db, tenant_id)[1]


def create_key(db: Database, tenant_id: uuid.UUID) -> tuple[ApiKey, str]:
    """Add an active API key to a tenant; return the row and the key (shown this once)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with db.session() as session:
        _tenant(session, tenant_id)
        row = ApiKey(id=uuid.uuid4(), tenant_id=tenant_id, key_hash=hash_key(key), prefix=key[:10],
                     created_at=utcnow())
        session.add(row)
    return row, key


def list_keys(db: Database, tenant_id: uuid.UUID) -> list[ApiKey]:
    with db.session() as session:
        _tenant(session, tenant_id)
        return list(session.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant_id)
                                    .order_by(ApiKey.created_at, ApiKey.id)))


def revoke_key(db: Database, tenant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    """Revoke one key at once (calls with it get 401 ``invalid_api_key``); revoking twice is harmless."""
    with db.session() as session:
        row = session.get(ApiKey, key_id)
        if row is None or row.tenant_id != tenant_id:
            raise ApiKeyNotFound(f"no API key {key_id} for this tenant")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return row


# ---- tenants -------------------------------------------------------------------------------

def create_tenant(db: Database, settings: Settings, name: str, *, storage: dict[str, Any] | None = None,
                  limits: dict[str, Any] | None = None) -> tuple[Tenant, str]:
    """Create a tenant with one API key and one webhook secret; return it and the key.

    A storage connection is checked with a test write before anything is saved.
    Raises ``invalid_tenant_name``, ``tenant_exists``, ``invalid_limits``,
    ``invalid_storage_config`` and ``storage_check_failed``.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidTenantName("a tenant name is 1-63 lowercase letters, digits, '-' or '_'")
    tenant_id = uuid.uuid4()
    checked_limits = validate_limits(limits or {})
    checked_storage = None
    if storage is not None:
        checked_storage = tenant_storage.check_storage_config(settings, tenant_id, storage)
    try:
        with db.session() as session:
            tenant = Tenant(id=tenant_id, name=name, storage_config=checked_storage, limits=checked_limits,
                            webhook_secrets=[_secret_entry(new_secret())], created_at=utcnow())
            session.add(tenant)
    except IntegrityError:
        raise TenantExists(f"a tenant named {name!r} exists") from None
    return tenant, create_key(db, tenant_id)[1]


def get_tenant(db: Database, tenant_id: uuid.UUID) -> Tenant:
    with db.session() as session:
        return _tenant(session, tenant_id)


def find_tenant(db: Database, id_or_name: str) -> Tenant:
    """Look a tenant up by id or by name (for the CLI)."""
    with db.session() as session:
        try:
            return _tenant(session, uuid.UUID(id_or_name))
        except ValueError:
            pass
        tenant = session.scalars(select(Tenant).where(Tenant.name == id_or_name)).one_or_none()
        if tenant is None:
            raise TenantNotFound(f"no tenant named {id_or_name!r}")
        return tenant


def list_tenants(db: Database) -> list[Tenant]:
    with db.session() as session:
        return list(session.scalars(select(Tenant).order_by(Tenant.created_at, Tenant.name)))


_UNSET: Any = object()


def update_tenant(db: Database, settings: Settings, tenant_id: uuid.UUID, *, storage: Any = _UNSET,
                  limits: Any = _UNSET) -> Tenant:
    """Change a tenant's storage connection (``None``: the platform default) or limits.

    A new storage connection must pass a test write first; objects already stored stay
    where they are. Raises like :func:`create_tenant`.
    """
    checked_storage = _UNSET
    if storage is not _UNSET and storage is not None:
        checked_storage = tenant_storage.check_storage_config(settings, tenant_id, storage)
    elif storage is None:
        checked_storage = None
    with db.session() as session:
        tenant = _tenant(session, tenant_id, lock=True)
        if checked_storage is not _UNSET:
            tenant.storage_config = checked_storage
        if limits is not _UNSET:
            tenant.limits = validate_limits(limits or {})
    forget_tenant(tenant_id)
    return tenant


def delete_tenant(db: Database, tenant_id: uuid.UUID) -> None:
    """Delete a tenant without jobs (its keys go with it); raise TenantInUse otherwise."""
    if tenant_id == DEFAULT_TENANT_ID:
        raise TenantInUse("the default tenant cannot be deleted")
    with db.session() as session:
        tenant = _tenant(session, tenant_id, lock=True)
        jobs = session.scalar(select(func.count()).select_from(_MEDIA_JOBS).where(_MEDIA_JOBS.c.tenant_id == tenant_id))
        if jobs:
            raise TenantInUse(f"the tenant has {jobs} media jobs; revoke its keys instead")
        # The database cascades to the tenant's keys, endpoints and idempotency records.
        session.execute(delete(Tenant).where(Tenant.id == tenant.id))
    forget_tenant(tenant_id)


def validate_limits(limits: Any) -> dict[str, int]:
    if not isinstance(limits, dict):
        raise InvalidLimits("limits must be an object")
    unknown = sorted(set(limits) - set(LIMIT_NAMES))
    if unknown:
        raise InvalidLimits(f"unknown limits: {', '.join(unknown)}; known: {', '.join(LIMIT_NAMES)}")
    checked = {}
    for name, value in limits.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
            raise InvalidLimits(f"limit {name} must be a whole number from 1 to 1000000")
        checked[name] = value
    return checked


# ---- webhook secrets ---------------------------------------------------------------------

def _secret_entry(secret: str) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex[:12], "secret": secret, "created_at": utcnow().isoformat()}


def secret_info(entry: dict[str, Any]) -> dict[str, Any]:
    """A signing secret as reads show it: id and date, never the secret (shown on create and rotate only)."""
    return {"id": entry.get("id"), "created_at": entry.get("created_at")}


def add_webhook_secret(db: Database, tenant_id: uuid.UUID, secret: str | None = None) -> dict[str, Any]:
    """Add a signing secret (generated unless given); deliveries carry one signature per secret."""
    if secret is not None:
        secret_key(secret)
    entry = _secret_entry(secret or new_secret())
    with db.session() as session:
        tenant = _tenant(session, tenant_id, lock=True)
        if len(tenant.webhook_secrets) >= 5:
            raise TooManyWebhookSecrets("a tenant holds at most 5 webhook secrets; remove an old one first")
        tenant.webhook_secrets = [*tenant.webhook_secrets, entry]
    forget_tenant(tenant_id)
    return entry


def remove_webhook_secret(db: Database, tenant_id: uuid.UUID, secret_id: str) -> None:
    with db.session() as session:
        tenant = _tenant(session, tenant_id, lock=True)
        kept = [entry for entry in tenant.webhook_secrets if entry.get("id") != secret_id]
        if len(kept) == len(tenant.webhook_secrets):
            raise WebhookSecretNotFound(f"no webhook secret {secret_id!r}")
        tenant.webhook_secrets = kept
    forget_tenant(tenant_id)


def signing_secrets(db: Database, settings: Settings, tenant_id: uuid.UUID) -> list[str]:
    """Every active secret of a tenant: the default tenant's come from WEBHOOK_SECRET first.

    A tenant without any secret (the default tenant when WEBHOOK_SECRET is unset) gets
    one generated and stored, so a webhook is never sent unsigned; no read shows it, so
    ops who need it add a secret (shown then) and remove this one.
    """
    configured = parse_secrets(settings.WEBHOOK_SECRET) if tenant_id == DEFAULT_TENANT_ID else []
    stored = [entry["secret"] for entry in tenant_info(db, settings, tenant_id).webhook_secrets]
    if configured or stored:
        return list(dict.fromkeys([*configured, *stored]))
    with db.session() as session:
        tenant = _tenant(session, tenant_id, lock=True)
        if not tenant.webhook_secrets:
            tenant.webhook_secrets = [_secret_entry(new_secret())]
        found = [entry["secret"] for entry in tenant.webhook_secrets]
    forget_tenant(tenant_id)
    return found


def tenant_limit(db: Database, settings: Settings, tenant_id: uuid.UUID, name: str) -> int:
    """A tenant's own limit ``name``, or the platform default from settings."""
    defaults = {"requests_per_minute": settings.RATE_LIMIT_PER_TENANT,
                "video_concurrency": settings.TENANT_VIDEO_CONCURRENCY}
    value = tenant_info(db, settings, tenant_id).limits.get(name)
    return int(value) if value else int(defaults[name])


def _tenant(session, tenant_id: uuid.UUID, *, lock: bool = False) -> Tenant:
    tenant = session.get(Tenant, tenant_id, with_for_update=lock)
    if tenant is None:
        raise TenantNotFound(f"no tenant {tenant_id}")
    return tenant


__all__ = ["DEFAULT_TENANT_ID", "DEFAULT_TENANT_NAME", "TenantInfo", "TenantNotFound", "create_tenant",
           "forget_tenant", "issue_key", "resolve_tenant", "tenant_info"]
