"""Webhook endpoints (a tenant's callback URL) and deliveries (one event to one endpoint)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, utcnow
from shared.db.base import JSONType
from shared.jobs import models as _jobs  # noqa: F401  (webhook_deliveries.job_id refers to it)


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"        # waiting for its next attempt
    SENDING = "sending"        # an attempt is in flight (claimed until claimed_until)
    DELIVERED = "delivered"    # the receiver answered 2xx
    FAILED = "failed"          # every attempt of the schedule failed, or the URL is refused
    DISABLED = "disabled"      # the endpoint answered 410 Gone (now or to an earlier delivery)


class WebhookEndpoint(Base):
    """A callback URL of a tenant; 410 Gone disables it until a re-delivery turns it on again."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    # URLs may be 2 KB long: uniqueness is kept on their SHA-256.
    url_hash: Mapped[str] = mapped_column(String(64))
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
    disabled_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("tenant_id", "url_hash", name="uq_webhook_endpoints_tenant_url"),)


class WebhookDelivery(Base):
    """One event for one endpoint, with its attempts; its id is the ``webhook-id`` of every attempt."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("media_jobs.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
                                                   index=True)
    # The outbox event this delivery announces: handling the event twice finds this row.
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    event_type: Mapped[str] = mapped_column(String(50))
    # 1, 2, 3 ... per job, in the order the job's events were handled.
    sequence: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING.value, index=True)
    # A re-delivery through the API starts a new round with a fresh retry schedule.
    round: Mapped[int] = mapped_column(Integer, default=1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    # Every attempt of every round: {round, attempt, at, status_code, error, duration_ms}.
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (UniqueConstraint("job_id", "sequence", name="uq_webhook_deliveries_job_sequence"),)

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.id.hex}"
