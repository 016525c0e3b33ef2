"""What actors and loops of a worker process share: settings, database, storage."""

from __future__ import annotations

import uuid
from functools import lru_cache

from shared.db import get_database
from shared.jobs.steps import StepContext
from shared.settings import get_settings
from shared.storage.base import StorageProvider
from shared.tenants.storage import get_tenant_storages
from shared.webhooks.service import WebhookContext


def storage_for_tenant(tenant_id: uuid.UUID) -> StorageProvider:
    """The tenant's storage under its prefix (the platform default where it has none)."""
    return get_tenant_storages(get_settings())(tenant_id)


@lru_cache(maxsize=1)
def step_context() -> StepContext:
    settings = get_settings()
    return StepContext(db=get_database(settings), settings=settings, storages=get_tenant_storages(settings))


@lru_cache(maxsize=1)
def webhook_context() -> WebhookContext:
    settings = get_settings()
    return WebhookContext(db=get_database(settings), settings=settings, storages=get_tenant_storages(settings))
