"""Media-job use cases: create (idempotent), read, retry, cancel.

Every function takes its dependencies (database, storage resolver, settings) as
arguments; the API and the workers call the same functions.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import Database, utcnow
from shared.events.outbox import record_event
from shared.files import ReceivedFile, safe_file_name
from shared.jobs.errors import (
    AttemptsExhausted,
    IdempotencyKeyReused,
    JobNotCancelable,
    JobNotFound,
    JobNotRetryable,
)
from shared.jobs.models import FINAL_STATUSES, IdempotencyRecord, JobStatus, MediaJob
from shared.jobs.presets import get_preset
from shared.media.info import MediaInfo
from shared.media.probe import inspect
from shared.netsafe import check_callback_url
from shared.pipeline.ledger import fresh_steps
from shared.settings import Settings
from shared.storage.base import StorageProvider

# ``storages(job)``: the storage a job (anything with ``tenant_id`` and ``storage_id``) was written to;
# ``storages(tenant_id)``: the tenant's current one. shared.tenants.storage.TenantStorages is the real one.
StorageResolver = Callable[[Any], StorageProvider]


@dataclass(frozen=True)
class StorageRef:
    """Where a job's objects live: its tenant and the recorded storage connection (None: platform)."""

    tenant_id: uuid.UUID
    storage_id: uuid.UUID | None

STEPS_BY_KIND: dict[str, tuple[str, ...]] = {
    # Image presets come out of one decode, so images have no separate preview step.
    "image": ("convert", "upload", "persist"),
    "video": ("convert", "preview", "upload", "persist"),
}


@dataclass(frozen=True)
class CreateResult:
    status_code: int
    body: dict[str, Any]
    job_id: uuid.UUID


def job_prefix(job_id: uuid.UUID) -> str:
    return f"media/{job_id}/"


def work_dir(settings: Settings, job_id: uuid.UUID) -> Path:
    """The job's folder under TEMP_DIR; each run works in its own ``run-<n>`` inside it."""
    return Path(settings.TEMP_DIR) / "jobs" / str(job_id)


def run_dir(settings: Settings, job_id: uuid.UUID, run: int) -> Path:
    """The work folder of one run: a retry never shares files with the run it replaces."""
    return work_dir(settings, job_id) / f"run-{run}"


def create_job(db: Database, storages: StorageResolver, settings: Settings, *, tenant_id: uuid.UUID,
               received: ReceivedFile, preset_name: str, callback_url: str | None,
               idempotency_key: str | None = None) -> CreateResult:
    """Accept a file for a preset: 201 with a new job, or 200 with the job it already has.

    Raises the media errors of :func:`inspect` (type, limits, corrupt headers),
    ``unknown_preset``, ``callback_url_not_allowed`` and ``idempotency_key_reused``.
    The temp file is always removed; nothing is left in storage when it raises.
    """
    try:
        request_hash = _request_hash(received.sha256, preset_name, callback_url)
        if idempotency_key:
            replay = _replay(db, tenant_id, idempotency_key, request_hash)
            if replay is not None:
                return replay
        preset = get_preset(preset_name)
        if callback_url:
            check_callback_url(callback_url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS)
        info = inspect(received.path, settings)
        preset.spec_for(info.kind)
        result = _find_or_create(db, storages, settings, tenant_id=tenant_id, received=received, info=info,
                                 preset_name=preset.name, preset_version=preset.version,
                                 callback_url=callback_url)
        if idempotency_key:
            result = _remember(db, tenant_id, idempotency_key, request_hash, result)
        return result
    finally:
        received.path.unlink(missing_ok=True)


def _find_or_create(db: Database, storages: StorageResolver, settings: Settings, *, tenant_id: uuid.UUID,
                    received: ReceivedFile, info: MediaInfo, preset_name: str, preset_version: int,
                    callback_url: str | None) -> CreateResult:
    existing = _find_identical(db, tenant_id, received.sha256, preset_name, preset_version)
    if existing is not None:
        return CreateResult(200, created_body(existing), existing.id)

    job_id = uuid.uuid4()
    source_key = f"{job_prefix(job_id)}source{info.extension}"
    # The connection is fixed here, before the first byte: every later step and link uses it.
    where = StorageRef(tenant_id, storages.current_connection(tenant_id))
    storage = storages(where)
    storage.put_file(source_key, received.path, info.content_type)
    kind_steps = STEPS_BY_KIND[info.kind]
    spec = get_preset(preset_name).spec_for(info.kind)
    job = MediaJob(
        id=job_id, tenant_id=tenant_id, kind=info.kind, source_key=source_key,
        file_name=safe_file_name(received.file_name, info.extension), content_type=info.content_type,
        size=received.size, sha256=received.sha256, preset=preset_name, preset_version=preset_version,
        status=JobStatus.QUEUED.value, attempts=1, max_attempts=settings.JOB_MAX_ATTEMPTS,
        steps=fresh_steps(kind_steps),
        outputs={name: {"state": "pending"} for name in spec.output_names()},
        source_info=info.as_dict(), callback_url=callback_url, storage_id=where.storage_id,
    )
    try:
        with db.session() as session:
            session.add(job)
            session.flush()
            record_event(session, "job.queued", job.id, event_payload(job))
    except IntegrityError:
        # Another request with the same bytes and preset won the race: ours is a duplicate.
        storage.delete(source_key)
        existing = _find_identical(db, tenant_id, received.sha256, preset_name, preset_version)
        if existing is None:
            raise
        return CreateResult(200, created_body(existing), existing.id)
    except BaseException:
        storage.delete(source_key)
        raise
    return CreateResult(201, created_body(job), job.id)


def _find_identical(db: Database, tenant_id: uuid.UUID, sha256: str, preset: str,
                    version: int) -> MediaJob | None:
    with db.session() as session:
        return session.scalars(select(MediaJob).where(
            MediaJob.tenant_id == tenant_id, MediaJob.sha256 == sha256, MediaJob.preset == preset,
            MediaJob.preset_version == version)).one_or_none()


def created_body(job: MediaJob) -> dict[str, Any]:
    return {"job_id": str(job.id), "status": job.status}


def _request_hash(sha256: str, preset: str, callback_url: str | None) -> str:
    canonical = json.dumps([sha256, preset, callback_url or ""])
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(db: Database, tenant_id: uuid.UUID, key: str, request_hash: str) -> CreateResult | None:
    with db.session() as session:
        record = session.get(IdempotencyRecord, (tenant_id, key))
        if record is None:
            return None
        if record.request_hash != request_hash:
            raise IdempotencyKeyReused()
        return CreateResult(record.status_code, dict(record.response), uuid.UUID(record.response["job_id"]))


def _remember(db: Database, tenant_id: uuid.UUID, key: str, request_hash: str,
              result: CreateResult) -> CreateResult:
    try:
        with db.session() as session:
            session.add(IdempotencyRecord(tenant_id=tenant_id, key=key, request_hash=request_hash,
                                          status_code=result.status_code, response=result.body))
    except IntegrityError:
        # A concurrent request with the same key stored first: answer as it did.
        replay = _replay(db, tenant_id, key, request_hash)
        if replay is not None:
            return replay
    return result


def get_job(db: Database, tenant_id: uuid.UUID, job_id: uuid.UUID) -> MediaJob:
    """Return the tenant's job; raise JobNotFound for unknown ids and other tenants' jobs."""
    with db.session() as session:
        job = session.get(MediaJob, job_id)
        if job is None or job.tenant_id != tenant_id:
            raise JobNotFound(f"no media job {job_id}")
        return job


def job_view(job: MediaJob, storage: StorageProvider, settings: Settings) -> dict[str, Any]:
    """The public representation of a job, with presigned URLs of finished outputs."""
    ttl = timedelta(seconds=settings.PRESIGNED_URL_TTL)
    stem = os.path.splitext(job.file_name)[0]
    urls = {}
    for name, output in sorted(job.outputs.items()):
        if output.get("state") == "done" and output.get("key"):
            urls[name] = storage.presigned_url(output["key"], expires=ttl,
                                               filename=f"{stem}-{name}{output.get('extension', '')}")
    return job_document(job, urls)


def job_document(job: MediaJob, result_urls: dict[str, str] | None = None) -> dict[str, Any]:
    """The public representation of a job with the given links (none: a snapshot to sign links into later)."""
    urls = result_urls or {}
    error = {"code": job.error_code, "message": job.error_message} if job.error_code else None
    return {
        "id": str(job.id),
        "status": job.status,
        "preset": job.preset,
        "preset_version": job.preset_version,
        "kind": job.kind,
        "file_name": job.file_name,
        "content_type": job.content_type,
        "size": job.size,
        "sha256": job.sha256,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "steps": {step: dict(state) for step, state in job.steps.items()},
        "outputs": {name: output.get("state", "pending") for name, output in sorted(job.outputs.items())},
        "result_urls": urls,
        "result": job.result or {},
        "error": error,
        "callback_url": job.callback_url,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def job_etag(job: MediaJob, settings: Settings, now: datetime | None = None) -> str:
    """ETag (unquoted) of the job resource: its version plus the presigned-URL period.

    URLs are re-signed each period (half the TTL), so a client answered 304
    still holds links valid for at least half the TTL.
    """
    return _etag(job.id, job.version, settings, now)


# Built once: building the statement cost a poll as much as running it.
_VERSION_OF = select(MediaJob.tenant_id, MediaJob.version).where(MediaJob.id == bindparam("job_id"))


def current_job_etag(db: Database, settings: Settings, tenant_id: uuid.UUID, job_id: uuid.UUID) -> str:
    """The ETag :func:`job_etag` gives the tenant's job now, read from its version alone.

    A poll that ends in 304 needs nothing else: one indexed read of two columns on a
    read-only connection instead of loading the whole row into a session. Raises
    JobNotFound like :func:`get_job`.
    """
    with db.read_only() as connection:
        row = connection.execute(_VERSION_OF, {"job_id": job_id}).one_or_none()
    if row is None or row.tenant_id != tenant_id:
        raise JobNotFound(f"no media job {job_id}")
    return _etag(job_id, row.version, settings)


def _etag(job_id: uuid.UUID, version: int, settings: Settings, now: datetime | None = None) -> str:
    period = max(1, settings.PRESIGNED_URL_TTL // 2)
    bucket = int((now or utcnow()).timestamp()) // period
    return f"{job_id.hex[:12]}-{version}-{bucket}"


def retry_job(db: Database, tenant_id: uuid.UUID, job_id: uuid.UUID) -> MediaJob:
    """Queue a failed or canceled job again; raise Conflict when it cannot run again."""
    with db.session() as session:
        job = _locked(session, tenant_id, job_id)
        if job.status not in (JobStatus.FAILED.value, JobStatus.CANCELED.value):
            raise JobNotRetryable(f"a {job.status} job cannot be retried")
        if not job.retryable:
            raise JobNotRetryable(f"the job failed permanently ({job.error_code}); upload a corrected file")
        if job.attempts >= job.max_attempts:
            raise AttemptsExhausted(f"the job used all {job.max_attempts} attempts")
        job.status = JobStatus.QUEUED.value
        job.attempts += 1
        job.steps = fresh_steps(job.steps)
        job.outputs = {name: {"state": "pending"} for name in job.outputs}
        job.error_code = job.error_message = None
        job.result = None
        job.started_at = job.finished_at = None
        touch(job)
        record_event(session, "job.queued", job.id, event_payload(job))
        return job


def cancel_job(db: Database, tenant_id: uuid.UUID, job_id: uuid.UUID) -> MediaJob:
    """Cancel a queued or running job; its outputs are removed by the cleanup actor."""
    with db.session() as session:
        job = _locked(session, tenant_id, job_id)
        if job.status == JobStatus.CANCELED.value:
            return job
        if job.status in (JobStatus.DONE.value, JobStatus.FAILED.value):
            raise JobNotCancelable(f"a {job.status} job cannot be canceled")
        job.status = JobStatus.CANCELED.value
        job.finished_at = utcnow()
        job.error_code, job.error_message = "canceled", "canceled by the client"
        touch(job)
        record_event(session, "job.canceled", job.id, event_payload(job))
        return job


def _locked(session: Session, tenant_id: uuid.UUID, job_id: uuid.UUID) -> MediaJob:
    job = session.get(MediaJob, job_id, with_for_update=True)
    if job is None or job.tenant_id != tenant_id:
        raise JobNotFound(f"no media job {job_id}")
    return job


def touch(job: MediaJob) -> None:
    job.version += 1
    job.updated_at = utcnow()


def event_payload(job: MediaJob) -> dict[str, Any]:
    """The payload of an event about to be recorded for ``job`` (locked, in the event's transaction).

    An outcome (the job is now done, failed or canceled) takes the job's next sequence
    number here, in the transaction that commits it: webhooks carry it, so their order
    is the order the outcomes happened, however late an event is handled.
    """
    payload = {"job_id": str(job.id), "tenant_id": str(job.tenant_id), "kind": job.kind,
               "status": job.status, "run": job.attempts}
    if is_final(job.status):
        job.outcome_sequence = (job.outcome_sequence or 0) + 1
        payload["sequence"] = job.outcome_sequence
    return payload


def remove_outputs(storage: StorageProvider, settings: Settings, job: MediaJob, *,
                   keep_source: bool = True) -> int:
    """Delete a job's output objects (and its work folder); return how many objects went."""
    removed = 0
    for obj in list(storage.list(job_prefix(job.id))):
        if keep_source and obj.key == job.source_key:
            continue
        storage.delete(obj.key)
        removed += 1
    shutil.rmtree(run_dir(settings, job.id, job.attempts), ignore_errors=True)
    return removed


def is_final(status: str) -> bool:
    return JobStatus(status) in FINAL_STATUSES
