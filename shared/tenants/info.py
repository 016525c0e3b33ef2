"""A short-lived per-process view of tenants, read by every request and step that needs one."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from shared.db import Database
from shared.settings import Settings
from shared.tenants.errors import TenantNotFound
from shared.tenants.models import Tenant


@dataclass(frozen=True)
class TenantInfo:
    id: uuid.UUID
    name: str
    storage_config: dict[str, Any] | None
    limits: dict[str, Any]
    webhook_secrets: list[dict[str, Any]] = field(default_factory=list)


_cache: dict[uuid.UUID, tuple[float, TenantInfo]] = {}
_cache_lock = threading.Lock()


def tenant_info(db: Database, settings: Settings, tenant_id: uuid.UUID) -> TenantInfo:
    """Return the tenant as read at most ``TENANT_CACHE_SECONDS`` ago (changes reach every process then)."""
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(tenant_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    # A read-only connection: this is called from inside other transactions (a step resolving
    # its storage), and on SQLite a second writer connection would wait for the first.
    with db.read_only() as connection:
        row = connection.execute(
            select(Tenant.id, Tenant.name, Tenant.storage_config, Tenant.limits, Tenant.webhook_secrets)
            .where(Tenant.id == tenant_id)).one_or_none()
    if row is None:
        raise TenantNotFound(f"no tenant {tenant_id}")
    info = TenantInfo(row.id, row.name, row.storage_config, dict(row.limits or {}), list(row.webhook_secrets or []))
    with _cache_lock:
        _cache[tenant_id] = (now + settings.TENANT_CACHE_SECONDS, info)
    return info


def forget_tenant(tenant_id: uuid.UUID | None = None) -> None:
    """Drop this process's cached view of a tenant (all tenants without an id)."""
    with _cache_lock:
        if tenant_id is None:
            _cache.clear()
        else:
            _cache.pop(tenant_id, None)
