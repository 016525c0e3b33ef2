"""The transactional outbox: events committed with the rows they describe."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, utcnow


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    # SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                    autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    stream: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(100))
    aggregate_id: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    # The recorder's log context (request_id, ...), carried to the consumers' log lines.
    log_context: Mapped[dict[str, Any] | None] = mapped_column(default=None)

    __table_args__ = (
        # The relay only ever scans unpublished rows in id order.
        Index("ix_outbox_events_unpublished", "id",
              postgresql_where=text("published_at IS NULL"),
              sqlite_where=text("published_at IS NULL")),
    )
