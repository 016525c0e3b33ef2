"""What actors and loops of a worker process share: settings, database, storage."""

from __future__ import annotations

from functools import lru_cache

from shared.db import get_database
from shared.jobs.steps import StepContext
from shared.settings import get_settings
from shared.tenants.storage import get_tenant_storages
from shared.webhooks.service import WebhookContext, record_outcome_delivery


@lru_cache(maxsize=1)
def step_context() -> StepContext:
    settings = get_settings()
    return StepContext(db=get_database(settings), settings=settings, storages=get_tenant_storages(settings),
                       on_outcome=record_outcome_delivery)


@lru_cache(maxsize=1)
def webhook_context() -> WebhookContext:
    settings = get_settings()
    return WebhookContext(db=get_database(settings), settings=settings, storages=get_tenant_storages(settings))
