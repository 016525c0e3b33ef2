"""Schedule overrides set by ops, the record of every ops run, and issued ops tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, utcnow


class OpsSchedule(Base):
    """What ops changed about a schedule; a schedule without a row runs with its defaults."""

    __tablename__ = "ops_schedules"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(100), default=None)


class RunStatus:
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    FINAL = frozenset({SUCCEEDED, FAILED})


class OpsRun(Base):
    """One run of an ops task and what it did (files and bytes removed, errors)."""

    __tablename__ = "ops_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    schedule: Mapped[str] = mapped_column(String(100))
    # schedule | api | cli
    trigger: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.QUEUED)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The cron time a scheduled run belongs to: unique, so two schedulers firing
    # the same midnight make one run (the Redis leader lock is the first guard).
    scheduled_for: Mapped[datetime | None] = mapped_column(default=None)
    requested_by: Mapped[str | None] = mapped_column(String(100), default=None)
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        UniqueConstraint("schedule", "scheduled_for", name="uq_ops_runs_schedule_scheduled_for"),
        Index("ix_ops_runs_created_at", "created_at"),
        Index("ix_ops_runs_schedule_created_at", "schedule", "created_at"),
    )


class OpsToken(Base):
    """An ops bearer token issued on the box (``flask ops tokens create``); only its hash is kept."""

    __tablename__ = "ops_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
