"""Media jobs and the stored responses of idempotent requests."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, utcnow
from shared.tenants import models as _tenants  # noqa: F401  (media_jobs.tenant_id refers to it)


class JobStatus(str, enum.Enum):
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELED})


class MediaJob(Base):
    __tablename__ = "media_jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    source_key: Mapped[str] = mapped_column(String(500))
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    preset: Mapped[str] = mapped_column(String(50))
    preset_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.QUEUED.value, index=True)
    # Runs of the job: the first one plus every accepted retry.
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    max_attempts: Mapped[int] = mapped_column(Integer)
    # {step: {"state": pending|running|done|skipped, "deliveries": n}}; deliveries are
    # committed before a step works, so a run killed with SIGKILL still counts.
    steps: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {output name: {"state": pending|done, "key", "content_type", "size", "width", ...}}
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source_info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    retryable: Mapped[bool] = mapped_column(default=True)
    callback_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    # The storage connection the job was written to (storage_connections.id); None: the platform
    # storage (under tenants/<id>/ for tenants other than the default). Never changes, so a
    # tenant switching storage keeps its old links and in-flight jobs working.
    storage_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # Outcomes (done, failed, canceled) so far, counted when each is committed: the webhook sequence.
    outcome_sequence: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped on every change; the ETag of the job resource.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        UniqueConstraint("tenant_id", "sha256", "preset", "preset_version",
                         name="uq_media_jobs_identity"),
    )

    @property
    def job_status(self) -> JobStatus:
        return JobStatus(self.status)


class IdempotencyRecord(Base):
    """The first response to an ``Idempotency-Key``, replayed for the same request."""

    __tablename__ = "idempotency_records"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                                 primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
