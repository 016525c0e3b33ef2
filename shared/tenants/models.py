"""Tenants (business clients), their API keys and the storage connections their jobs use."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, utcnow
from shared.db.base import JSONType, NullableJSONType

DEFAULT_TENANT_NAME = "default"
DEFAULT_TENANT_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")  # seeded by migration 0001


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Provider name + settings + path prefix; None means the platform default storage.
    storage_config: Mapped[dict[str, Any] | None] = mapped_column(NullableJSONType, default=None)
    # {"requests_per_minute": n, "video_concurrency": n}; missing keys use the platform defaults.
    limits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Active webhook signing secrets, newest last: [{"id", "secret", "created_at"}]. Every
    # delivery is signed with all of them, so a secret can be rotated without a gap.
    webhook_secrets: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="tenant")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # Only a SHA-256 of the key is stored; the key itself is shown once.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    tenant: Mapped[Tenant] = relationship(back_populates="api_keys")


class StorageConnection(Base):
    """One storage connection a tenant has used, never changed: jobs keep the one they started with.

    Its secrets (S3 keys, OAuth tokens) are kept like ``tenants.storage_config`` keeps them
    and are masked wherever a connection is shown.
    """

    __tablename__ = "storage_connections"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    config: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
