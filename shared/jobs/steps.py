"""The pipeline steps of a media job: convert -> preview -> upload -> persist.

Each step is a plain function the actor calls with ids only. The run lifecycle
(count a delivery before any work, finish or fail under the row lock, the
re-render-if-missing upload) is the kernel's, in ``shared/pipeline/``; this module
plugs media jobs into it (:class:`JobSteps`) and holds what only they do: tenant
storages, per-run work folders, cancel checks. Files are written under temp names
and renamed, objects under deterministic keys, so a second run overwrites instead of adding.
"""

from __future__ import annotations

import functools
import logging
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.db import Database, utcnow
from shared.events.models import OutboxEvent
from shared.events.outbox import record_event
from shared.jobs.models import JobStatus, MediaJob
from shared.jobs.presets import ImageSpec, VideoSpec, get_preset
from shared.jobs.service import (
    StorageResolver,
    event_payload,
    job_prefix,
    remove_outputs,
    run_dir,
    touch,
    work_dir,
)
from shared.media import images, video
from shared.media.errors import ProcessingCanceled
from shared.media.info import MediaInfo, OutputFile
from shared.pipeline import runner
from shared.pipeline.ledger import DONE, mark_step
from shared.pipeline.runner import RECORDED, Adapter, upload_outputs
from shared.settings import Settings
from shared.storage.base import fetch_to_file

log = logging.getLogger(__name__)

CANCEL_POLL_SECONDS = 1.0


OutcomeHook = Callable[[Any, MediaJob, OutboxEvent], object]


def no_outcome_hook(session, job: MediaJob, event: OutboxEvent) -> None:
    """Nothing else commits with a job's outcome (the steps run on their own, as in unit tests)."""


@dataclass(frozen=True)
class StepContext:
    db: Database
    settings: Settings
    storages: StorageResolver
    # Called in the transaction that commits a job's job.done or job.failed event, with that event.
    # The worker records the job's webhook delivery here (shared.webhooks imports shared.jobs, not back).
    on_outcome: OutcomeHook = no_outcome_hook


@dataclass(frozen=True)
class JobSnapshot:
    """What a step needs to know about its job, read in the step's first transaction."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    preset: str
    source_key: str
    source_info: dict[str, Any]
    outputs: dict[str, Any]
    run: int
    storage_id: uuid.UUID | None = None  # the connection the job was written to (None: platform storage)

    @property
    def info(self) -> MediaInfo:
        return MediaInfo(**self.source_info)


class JobSteps(Adapter[StepContext, JobSnapshot]):
    """Media jobs on the pipeline kernel: a job runs while queued or processing; ``attempts`` is its run."""

    model = MediaJob
    active = frozenset({JobStatus.QUEUED.value, JobStatus.PROCESSING.value})
    running = JobStatus.PROCESSING.value

    @property
    def steps(self):  # looked up per call: STEP_FUNCTIONS is the table of record
        return STEP_FUNCTIONS

    def run_of(self, row: MediaJob) -> int:
        return row.attempts

    def start(self, session, row: MediaJob) -> JobSnapshot:
        if row.status == JobStatus.QUEUED.value:
            row.status = JobStatus.PROCESSING.value
            row.started_at = utcnow()
            record_event(session, "job.processing", row.id, event_payload(row))
        touch(row)
        return JobSnapshot(row.id, row.tenant_id, row.kind, row.preset, row.source_key, dict(row.source_info),
                           {k: dict(v) for k, v in row.outputs.items()}, row.attempts, row.storage_id)

    def recorded(self, session, row: MediaJob) -> None:
        touch(row)

    def mark_failed(self, ctx: StepContext, session, row: MediaJob, code: str, message: str, *,
                    retryable: bool) -> None:
        row.status = JobStatus.FAILED.value
        row.error_code, row.error_message = code, message[:2000]
        row.retryable = retryable
        row.finished_at = utcnow()
        touch(row)
        event = record_event(session, "job.failed", row.id, {**event_payload(row), "error": {"code": code}})
        ctx.on_outcome(session, row, event)

    def cleanup(self, ctx: StepContext, row: MediaJob, *, keep_source: bool) -> None:
        _cleanup_after(ctx, row, keep_source=keep_source)

    def canceled(self, ctx: StepContext, snapshot: JobSnapshot) -> None:
        remove_work_folder(ctx.settings, snapshot.id, snapshot.run)

    def media_type(self, snapshot: JobSnapshot) -> str:
        return snapshot.kind


JOBS = JobSteps()


def run_step(ctx: StepContext, job_id: uuid.UUID | str, step: str, run: int | None = None) -> bool:
    """Run one step of a job; return False when there was nothing to do.

    Permanent errors fail the job here (and are not raised); transient errors
    are raised so the broker's retry layer tries again with backoff.
    """
    return runner.run_step(JOBS, ctx, job_id, step, run)


def begin_step(ctx: StepContext, job_id: uuid.UUID, step: str, run: int | None) -> JobSnapshot | None:
    """Count this delivery durably and mark the step running; None when it must not run."""
    return runner.begin_step(JOBS, ctx, job_id, step, run)


def finish_step(ctx: StepContext, job_id: uuid.UUID, step: str, outputs: dict[str, dict[str, Any]], *,
                run: int | None = None) -> None:
    runner.finish_step(JOBS, ctx, job_id, step, run, outputs)


def fail_job(ctx: StepContext, job_id: uuid.UUID | str, code: str, message: str, *, retryable: bool,
             run: int | None = None) -> bool:
    """Mark a running or queued job failed and remove what it wrote; True if this call did it.

    With ``run``, only that run of the job is failed: a late failure of an earlier
    run never fails the run a retry started.
    """
    return runner.fail(JOBS, ctx, job_id, code, message, retryable=retryable, run=run)


def _cleanup_after(ctx: StepContext, job: MediaJob, *, keep_source: bool) -> None:
    remove_work_folder(ctx.settings, job.id, job.attempts)
    try:
        remove_outputs(ctx.storages(job), ctx.settings, job, keep_source=keep_source)
    except Exception:  # the scheduler's orphan sweep catches what a failed cleanup leaves
        log.exception("cleanup of job %s failed", job.id)


def remove_work_folder(settings: Settings, job_id: uuid.UUID, run: int) -> None:
    """Remove the folders of runs up to ``run``, then the job's folder unless a newer run works in it."""
    folder = work_dir(settings, job_id)
    for path in folder.glob("run-*"):
        number = path.name.removeprefix("run-")
        if number.isdigit() and int(number) <= run:
            shutil.rmtree(path, ignore_errors=True)
    try:
        folder.rmdir()
    except OSError:
        pass  # gone already, or a retry's run works in it: that run's final state removes it


def cleanup_canceled(ctx: StepContext, job_id: uuid.UUID | str) -> int:
    """Remove the outputs of a canceled job (the source stays for a retry)."""
    with ctx.db.session() as session:
        job = session.get(MediaJob, uuid.UUID(str(job_id)))
    if job is None or job.status != JobStatus.CANCELED.value:
        return 0
    remove_work_folder(ctx.settings, job.id, job.attempts)
    return remove_outputs(ctx.storages(job), ctx.settings, job, keep_source=True)


def job_status(ctx: StepContext, job_id: uuid.UUID) -> str | None:
    return job_state(ctx, job_id)[0]


def job_state(ctx: StepContext, job_id: uuid.UUID) -> tuple[str | None, int | None]:
    """The job's status and current run (``attempts``)."""
    with ctx.db.session() as session:
        job = session.get(MediaJob, job_id)
        return (job.status, job.attempts) if job else (None, None)


def cancel_checker(ctx: StepContext, job_id: uuid.UUID, run: int) -> Callable[[], bool]:
    """A cheap ``should_stop`` for long work, read at most once a second: True once the job
    was canceled, deleted, or retried (a newer run owns the work folder now)."""
    last = {"at": 0.0, "canceled": False}

    def should_stop() -> bool:
        now = time.monotonic()
        if now - last["at"] >= CANCEL_POLL_SECONDS:
            last["at"] = now
            status, current_run = job_state(ctx, job_id)
            last["canceled"] = status in (JobStatus.CANCELED.value, None) or current_run != run
        return last["canceled"]

    return should_stop


# ---- the steps -------------------------------------------------------------------------------

def _job_dir(ctx: StepContext, job: JobSnapshot) -> Path:
    path = run_dir(ctx.settings, job.id, job.run)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _local_source(ctx: StepContext, job: JobSnapshot) -> Path:
    """Make the source a file of the job folder once (steps on another machine make their own):
    a hard link when the storage keeps the object on this disk, else a download (``fetch_to_file``)."""
    path = _job_dir(ctx, job) / f"source{job.info.extension}"
    if not path.exists():
        fetch_to_file(ctx.storages(job), job.source_key, path)
    return path


def _video_settings(ctx: StepContext, job: JobSnapshot) -> Settings:
    spec = get_preset(job.preset).spec_for("video")
    assert isinstance(spec, VideoSpec)
    return ctx.settings.replace(**spec.overrides) if spec.overrides else ctx.settings


def describe_output(output: OutputFile) -> dict[str, Any]:
    described = output.as_dict()
    del described["name"]
    described["file"] = Path(described.pop("path")).name
    return described


def convert(ctx: StepContext, job: JobSnapshot) -> dict[str, dict[str, Any]]:
    """Videos: transcode to VP9/WebM. Images: every preset size from one decode."""
    source = _local_source(ctx, job)
    directory = source.parent
    if job.kind == "image":
        spec = get_preset(job.preset).spec_for("image")
        assert isinstance(spec, ImageSpec)
        outputs = images.render_image_presets(source, directory, spec.sizes, ctx.settings)
        return {name: {"state": "rendered", **describe_output(out)} for name, out in outputs.items()}
    out = video.transcode_webm(source, directory, job.info, _video_settings(ctx, job),
                               should_stop=cancel_checker(ctx, job.id, job.run))
    return {"webm": {"state": "rendered", **describe_output(out)}}


def preview(ctx: StepContext, job: JobSnapshot) -> dict[str, dict[str, Any]]:
    """Videos: a poster frame (input seeking) and a short preview clip."""
    source = _local_source(ctx, job)
    settings = _video_settings(ctx, job)
    should_stop = cancel_checker(ctx, job.id, job.run)
    poster = video.extract_poster(source, source.parent, job.info, settings, should_stop=should_stop)
    clip = video.make_preview(source, source.parent, job.info, settings, should_stop=should_stop)
    return {"poster": {"state": "rendered", **describe_output(poster)},
            "preview": {"state": "rendered", **describe_output(clip)}}


PRODUCERS: dict[str, dict[str, Callable[[StepContext, JobSnapshot], dict[str, dict[str, Any]]]]] = {
    "image": {"convert": convert},
    "video": {"convert": convert, "preview": preview},
}


def upload(ctx: StepContext, job: JobSnapshot) -> dict[str, dict[str, Any]]:
    """Put every rendered output into the tenant's storage under a deterministic key."""
    storage = ctx.storages(job)
    producers = [functools.partial(produce, ctx, job) for produce in PRODUCERS[job.kind].values()]
    written = upload_outputs(storage, _job_dir(ctx, job), job_prefix(job.id), job.outputs, producers)
    if job_status(ctx, job.id) != JobStatus.PROCESSING.value:
        # Canceled while uploading: the cleanup may already have run, so remove ours.
        for value in written.values():
            storage.delete(value["key"])
        raise ProcessingCanceled()
    return written


def persist(ctx: StepContext, job: JobSnapshot) -> dict[str, dict[str, Any]]:
    """Record the result and make the one transition to ``done``."""
    with ctx.db.session() as session:
        row = session.get(MediaJob, job.id, with_for_update=True)
        if row is None or row.status != JobStatus.PROCESSING.value:
            raise ProcessingCanceled()
        info = job.source_info
        result: dict[str, Any] = {
            "kind": job.kind, "width": info.get("width"), "height": info.get("height"),
            "format": info.get("format"),
            "outputs": {name: {k: out.get(k) for k in ("content_type", "size", "width", "height", "duration")
                               if out.get(k) is not None}
                        for name, out in sorted(row.outputs.items())},
        }
        if job.kind == "video":
            result.update(duration=info.get("duration"), codec=info.get("codec"),
                          has_audio=info.get("has_audio"))
        mark_step(row, "persist", DONE)
        row.result = result
        row.status = JobStatus.DONE.value
        row.finished_at = utcnow()
        touch(row)
        ctx.on_outcome(session, row, record_event(session, "job.done", row.id, event_payload(row)))
    shutil.rmtree(work_dir(ctx.settings, job.id), ignore_errors=True)  # done: no later run can exist
    return RECORDED


STEP_FUNCTIONS: dict[str, Callable[[StepContext, JobSnapshot], dict[str, dict[str, Any]]]] = {
    "convert": convert,
    "preview": preview,
    "upload": upload,
    "persist": persist,
}
