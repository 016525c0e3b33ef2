"""What actors and loops of a worker process share: settings, database, storage."""

from __future__ import annotations

import uuid
from functools import lru_cache

from shared.db import get_database
from shared.jobs.steps import StepContext
from shared.settings import get_settings
from shared.storage import get_default_storage
from shared.storage.base import StorageProvider


def storage_for_tenant(tenant_id: uuid.UUID) -> StorageProvider:
    """The tenant's storage; the platform default until tenants bring their own."""
    return get_default_storage(get_settings())


@lru_cache(maxsize=1)
def step_context() -> StepContext:
    settings = get_settings()
    return StepContext(db=get_database(settings), settings=settings, storages=storage_for_tenant)
