"""The pipeline steps of a media job: convert -> preview -> upload -> persist.

Each step is a plain function the actor calls with ids only. A step is
idempotent by construction:
- its delivery is counted and committed before any work, so a run killed with
  SIGKILL still counts, and a job whose step keeps dying fails instead of looping;
- files are written under temp names and renamed, objects under deterministic
  keys, so a second run overwrites instead of adding;
- state changes are conditional updates, so a transition happens once.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.db import Database, utcnow
from shared.errors import PermanentError
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
from shared.media.probe import MediaInfo, OutputFile
from shared.security import redact_server_paths
from shared.settings import Settings

log = logging.getLogger(__name__)

CANCEL_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class StepContext:
    db: Database
    settings: Settings
    storages: StorageResolver


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


def run_step(ctx: StepContext, job_id: uuid.UUID | str, step: str, run: int | None = None) -> bool:
    """Run one step of a job; return False when there was nothing to do.

    Permanent errors fail the job here (and are not raised); transient errors
    are raised so the broker's retry layer tries again with backoff.
    """
    job_id = uuid.UUID(str(job_id))
    snapshot = begin_step(ctx, job_id, step, run)
    if snapshot is None:
        return False
    try:
        outputs = STEP_FUNCTIONS[step](ctx, snapshot)
    except ProcessingCanceled:
        remove_work_folder(ctx.settings, job_id, snapshot.run)
        return False
    except PermanentError as exc:
        fail_job(ctx, job_id, exc.code, exc.detail, retryable=False, run=snapshot.run)
        return False
    finish_step(ctx, job_id, step, outputs or {}, run=snapshot.run)
    return True


def begin_step(ctx: StepContext, job_id: uuid.UUID, step: str, run: int | None) -> JobSnapshot | None:
    """Count this delivery durably and mark the step running; None when it must not run."""
    exhausted: MediaJob | None = None
    with ctx.db.session() as session:
        job = session.get(MediaJob, job_id, with_for_update=True)
        if job is None or JobStatus(job.status).is_final:
            return None
        if run is not None and run != job.attempts:
            return None  # a late message of an earlier run
        state = count_delivery(job, step)
        if state is None:
            return None
        if state["deliveries"] > ctx.settings.STEP_MAX_DELIVERIES:
            _mark_failed(session, job, "attempts_exhausted",
                         f"step {step!r} was delivered {state['deliveries'] - 1} times without finishing",
                         retryable=True)
            exhausted = job
        else:
            if job.status == JobStatus.QUEUED.value:
                job.status = JobStatus.PROCESSING.value
                job.started_at = utcnow()
                record_event(session, "job.processing", job.id, event_payload(job))
            touch(job)
            return JobSnapshot(job.id, job.tenant_id, job.kind, job.preset, job.source_key,
                               dict(job.source_info), {k: dict(v) for k, v in job.outputs.items()}, job.attempts,
                               job.storage_id)
    # After the commit: storage calls never run under the job's row lock.
    _cleanup_after(ctx, exhausted, keep_source=True)
    return None


def finish_step(ctx: StepContext, job_id: uuid.UUID, step: str, outputs: dict[str, dict[str, Any]], *,
                run: int | None = None) -> None:
    with ctx.db.session() as session:
        job = session.get(MediaJob, job_id, with_for_update=True)
        if job is None or job.status != JobStatus.PROCESSING.value or (run is not None and job.attempts != run):
            return
        mark_step(job, step, "done")
        merge_outputs(job, outputs)
        touch(job)


def count_delivery(row: Any, step: str) -> dict[str, Any] | None:
    """Count one delivery of ``step`` in ``row.steps`` and mark it running; None when it is done already.

    ``row`` is any locked row with a ``steps`` JSON column (media jobs, submissions): the
    caller commits before working, so a run killed with SIGKILL still counts.
    """
    steps = {name: dict(state) for name, state in row.steps.items()}
    state = steps.setdefault(step, {"state": "pending", "deliveries": 0})
    if state["state"] == "done":
        return None
    state["deliveries"] += 1
    state["state"] = "running"
    row.steps = steps
    return state


def mark_step(row: Any, step: str, state: str) -> None:
    """Set the state of ``step`` in ``row.steps`` (JSON columns are replaced, never mutated in place)."""
    steps = {name: dict(value) for name, value in row.steps.items()}
    steps.setdefault(step, {"state": "pending", "deliveries": 0})["state"] = state
    row.steps = steps


def merge_outputs(row: Any, outputs: dict[str, dict[str, Any]]) -> None:
    """Merge what a step made into ``row.outputs``."""
    if outputs:
        merged = {name: dict(value) for name, value in row.outputs.items()}
        for name, value in outputs.items():
            merged.setdefault(name, {}).update(value)
        row.outputs = merged


def fail_job(ctx: StepContext, job_id: uuid.UUID | str, code: str, message: str, *, retryable: bool,
             run: int | None = None) -> bool:
    """Mark a running or queued job failed and remove what it wrote; True if this call did it.

    With ``run``, only that run of the job is failed: a late failure of an earlier
    run never fails the run a retry started.
    """
    job_id = uuid.UUID(str(job_id))
    with ctx.db.session() as session:
        job = session.get(MediaJob, job_id, with_for_update=True)
        if job is None or JobStatus(job.status).is_final or (run is not None and job.attempts != run):
            return False
        # Shown to the client (GET /api/media/{id}/): ffmpeg and Pillow messages may name work files.
        _mark_failed(session, job, code, redact_server_paths(message, ctx.settings), retryable=retryable)
    # A permanent failure means the source itself is bad: keep nothing of it.
    _cleanup_after(ctx, job, keep_source=retryable)
    return True


def _mark_failed(session, job: MediaJob, code: str, message: str, *, retryable: bool) -> None:
    job.status = JobStatus.FAILED.value
    job.error_code, job.error_message = code, message[:2000]
    job.retryable = retryable
    job.finished_at = utcnow()
    touch(job)
    record_event(session, "job.failed", job.id, {**event_payload(job), "error": {"code": code}})


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
    """Fetch the source into the job folder once (steps on another machine fetch their own)."""
    directory = _job_dir(ctx, job)
    path = directory / f"source{job.info.extension}"
    if not path.exists():
        partial = directory / f".source{job.info.extension}.part"
        ctx.storages(job).get_to_file(job.source_key, partial)
        partial.replace(path)
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
    directory = _job_dir(ctx, job)
    outputs = dict(job.outputs)
    missing = [name for name, out in outputs.items() if not out.get("file") or
               not (directory / out["file"]).exists()]
    if missing:
        # The work folder is gone (another machine, a purge): render again, idempotently.
        for producer in PRODUCERS[job.kind].values():
            for name, value in producer(ctx, job).items():
                outputs.setdefault(name, {}).update(value)
    storage = ctx.storages(job)
    written: dict[str, dict[str, Any]] = {}
    for name, out in outputs.items():
        key = f"{job_prefix(job.id)}{out['file']}"
        storage.put_file(key, directory / out["file"], out["content_type"])
        written[name] = {**out, "state": "done", "key": key}
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
        mark_step(row, "persist", "done")
        row.result = result
        row.status = JobStatus.DONE.value
        row.finished_at = utcnow()
        touch(row)
        record_event(session, "job.done", row.id, event_payload(row))
    shutil.rmtree(work_dir(ctx.settings, job.id), ignore_errors=True)  # done: no later run can exist
    return {}


STEP_FUNCTIONS: dict[str, Callable[[StepContext, JobSnapshot], dict[str, dict[str, Any]]]] = {
    "convert": convert,
    "preview": preview,
    "upload": upload,
    "persist": persist,
}
