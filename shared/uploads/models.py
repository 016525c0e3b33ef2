"""Temporary uploads of the profile flow (SPEC 3): kept in storage under tmp/uploads/ until used or expired."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, utcnow
from shared.db.base import NullableJSONType


class Upload(Base):
    __tablename__ = "uploads"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(10))  # image | video
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # MediaInfo of the probe (width, height, duration, codec, ...).
    info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Key in the platform storage (tmp/uploads/<id>/source.<ext>; before issue 12: a path relative to
    # TEMP_DIR, uploads/<id>/source.<ext>); never a client file name.
    temp_path: Mapped[str] = mapped_column(String(500))
    file_name: Mapped[str] = mapped_column(String(255))
    owner_wallet: Mapped[str | None] = mapped_column(String(42), default=None, index=True)
    owner_ip: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    # Set when a submission takes the upload: it is then kept until the submission is done.
    submission_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    expires_at: Mapped[datetime] = mapped_column()
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_uploads_expires_at", "expires_at"),)


class UploadReservation(Base):
    """Bytes an upload still streaming holds against its client's quotas and the temp area.

    Made under the intake lock before the body is read, gone when the request ends. Rows
    past ``expires_at`` count for nothing, so a process that died mid-upload frees its hold.
    """

    __tablename__ = "upload_reservations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_wallet: Mapped[str | None] = mapped_column(String(42), default=None)
    owner_ip: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class TusUpload(Base):
    """A resumable (tus) upload still arriving: its bytes so far are in storage, its state here.

    Any web host continues it from this row. Its quota hold is the reservation of the same id
    (the declared length, until ``expires_at``); when the last byte arrives the upload of the
    same id replaces both. Once the last byte is in, ``status`` is ``completing`` until a worker
    has hashed and probed the whole object (shared.uploads.tus.finish); a refused file leaves the
    row ``failed`` with the refusal, a media upload leaves it ``done`` with the job it made.
    """

    __tablename__ = "tus_uploads"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # Who it is for: "profile" (owner wallet/IP) or "media" (a tenant of the media API).
    flow: Mapped[str] = mapped_column(String(10))
    # receiving | completing | failed | done (done: media uploads only, the job is made)
    status: Mapped[str] = mapped_column(String(12), default="receiving")
    # The tenant of a media upload (None for the profile flow), and the job its bytes made.
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # A refusal at completion: {"code", "status", "title", "detail", ...extra}, answered as a problem.
    error: Mapped[dict[str, Any] | None] = mapped_column(NullableJSONType, default=None)
    kind: Mapped[str] = mapped_column(String(10))  # image | video, announced in Upload-Metadata
    owner_wallet: Mapped[str | None] = mapped_column(String(42), default=None)
    owner_ip: Mapped[str] = mapped_column(String(64))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    # Upload-Metadata as decoded pairs (file name, preset, callback_url ...).
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The storage key the bytes go to, and the storage's handle for writing it in parts
    # (the S3 multipart upload id) with the parts written so far ({"parts": [...]}).
    key: Mapped[str] = mapped_column(String(500))
    handle: Mapped[str] = mapped_column(String(1000), default="")
    parts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Its last change (a chunk, the completion, the finish): the pipeline sweep sends the finish of
    # an upload ``completing`` for long again when its message is nowhere (shared.ops.lost_pipelines).
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
