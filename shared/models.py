"""Import every model so the metadata (and Alembic) sees all tables."""

from shared.db import Base
from shared.events.models import OutboxEvent
from shared.jobs.models import IdempotencyRecord, MediaJob
from shared.tenants.models import ApiKey, Tenant

__all__ = ["ApiKey", "Base", "IdempotencyRecord", "MediaJob", "OutboxEvent", "Tenant"]
