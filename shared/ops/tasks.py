"""The ops tasks: what each schedule runs, its default cron, and the parameters it takes.

A task is a plain function ``(OpsContext, params) -> report`` (a JSON-able dict
with what it did). It must be idempotent: a run is delivered at least once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import delete, select

from shared.auth.service import purge_expired
from shared.db import Database, get_database, utcnow
from shared.events.models import OutboxEvent
from shared.ops import orphans, purge, queues
from shared.ops.errors import InvalidParams
from shared.ops.lost_pipelines import JOBS, SUBMISSIONS, TUS_UPLOADS, restart_lost
from shared.redis_client import get_redis
from shared.settings import Settings
from shared.storage import get_default_storage
from shared.storage.base import StorageProvider
from shared.submissions import payment
from shared.submissions.expiry import expire_stale_submissions
from shared.tenants.storage import get_tenant_storages
from shared.uploads import service as uploads
from shared.uploads import tus
from shared.webhooks.service import WebhookContext, resend_lost_attempts


@dataclass(frozen=True)
class QueueSenders:
    """How the sweeps hand work to the queues: each enqueues one message.

    The worker side builds it from its actors (``workers/ops_actors.py``), so shared code
    never names the workers.
    """

    deliver_webhook: Callable[[str, int, int], None]  # (delivery_id, round, attempt)
    check_payment: Callable[[str, str], None]  # (submission_id, checker)
    start_job: Callable[[str, str, int], None]  # (job_id, kind, run): a media job's pipeline
    start_submission: Callable[[str, int], None]  # (submission_id, run): a paid submission's pipeline
    finish_upload: Callable[[str], None]  # (upload_id): hash, probe and keep a tus upload whose bytes are in


@dataclass(frozen=True)
class OpsContext:
    db: Database
    settings: Settings
    redis: Callable[[], redis.Redis]
    storage: Callable[[], StorageProvider]
    clock: Callable[[], datetime] = utcnow
    # None where no worker runs the task (``flask ops run --inline``): the sweeps need the queues.
    senders: QueueSenders | None = None


@dataclass(frozen=True)
class Param:
    name: str
    type: type
    default: Any
    description: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    default_cron: str
    run_function: Callable[[OpsContext, dict[str, Any]], dict[str, Any]]
    params: tuple[Param, ...] = ()
    enabled_by_default: bool = True

    def run(self, ctx: OpsContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.run_function(ctx, params) or {}

    def defaults(self) -> dict[str, Any]:
        return {param.name: param.default for param in self.params}

    def clean_params(self, given: dict[str, Any] | None, *, base: dict[str, Any] | None = None) -> dict[str, Any]:
        """Validate ``given`` over ``base`` (default: the task's defaults); raise ``invalid_params``."""
        cleaned = dict(self.defaults() if base is None else base)
        errors: dict[str, list[str]] = {}
        known = {param.name: param for param in self.params}
        for name, value in (given or {}).items():
            param = known.get(name)
            if param is None:
                errors[name] = [f"unknown parameter of {self.name}; known: {', '.join(known) or 'none'}"]
                continue
            problem = _check(param, value)
            if problem:
                errors[name] = [problem]
            else:
                cleaned[name] = value
        if errors:
            raise InvalidParams(f"invalid parameters for {self.name}", errors=errors)
        return cleaned


def _check(param: Param, value: Any) -> str | None:
    if param.type is bool and not isinstance(value, bool):
        return "must be true or false"
    if param.type is int and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        return "must be a positive integer"
    if param.type is str and not isinstance(value, str):
        return "must be a string"
    if param.type is list and not (isinstance(value, list) and all(isinstance(v, str) for v in value)
                                   and len(value) <= 1000):
        return "must be a list of at most 1000 strings"
    if param.choices and value not in param.choices:
        return f"must be one of {', '.join(param.choices)}"
    return None


DRY_RUN = Param("dry_run", bool, False, "report what would be removed, remove nothing")


def run_purge_temp(ctx: OpsContext, params: dict[str, Any]) -> dict[str, Any]:
    """The scratch of the host that runs it (each host also sweeps its own) and storage's tmp/ prefix."""
    retention = timedelta(hours=ctx.settings.TEMP_RETENTION_HOURS)
    report = purge.purge_temp(ctx.db, Path(ctx.settings.TEMP_DIR), retention=retention,
                              now=ctx.clock(), dry_run=params["dry_run"])
    storage = purge.purge_storage_temp(ctx.db, ctx.storage(), retention=retention, now=ctx.clock(),
                                       dry_run=params["dry_run"])
    return {"host": purge.host_name(ctx.settings), **report.as_dict(), "storage": storage}


def run_expire_abandoned(ctx: OpsContext, params: dict[str, Any]) -> dict[str, Any]:
    """Expire what was left half-way: upload files no request writes to any more.

    Features with their own expiring records (uploads and unpaid submissions of
    the profile flow) add their expirer to ``EXPIRERS``.
    """
    report: dict[str, Any] = {"dry_run": params["dry_run"]}
    for name, expirer in EXPIRERS.items():
        report[name] = expirer(ctx, params["dry_run"])
    return report


def expire_incoming(ctx: OpsContext, dry_run: bool) -> dict[str, Any]:
    """Upload files in TEMP_DIR/incoming that no request has written to for a while."""
    folder = Path(ctx.settings.TEMP_DIR) / "incoming"
    cutoff = (ctx.clock() - timedelta(minutes=ctx.settings.INCOMING_ABANDON_MINUTES)).timestamp()
    removed = removed_bytes = 0
    errors: list[str] = []
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        entries = []
    for path in entries:
        try:
            status = path.lstat()
            if not path.name.endswith(".part") or path.is_symlink() or not path.is_file():
                continue
            if status.st_mtime >= cutoff:
                continue
            if not dry_run:
                path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            errors.append(f"incoming/{path.name}: {type(exc).__name__}")
            continue
        removed += 1
        removed_bytes += status.st_size
    return {"files_removed": removed, "bytes_removed": removed_bytes, "errors": errors[:50]}


def expire_uploads(ctx: OpsContext, dry_run: bool) -> dict[str, Any]:
    """Temporary uploads past their expiry that no submission took: marked deleted, folder removed."""
    return uploads.expire_uploads(ctx.db, ctx.settings, now=ctx.clock(), dry_run=dry_run)


def expire_tus_uploads(ctx: OpsContext, dry_run: bool) -> dict[str, Any]:
    """Resumable uploads left unfinished past their expiry: parts, bytes and quota holds dropped."""
    return tus.expire(ctx.db, ctx.settings, now=ctx.clock(), dry_run=dry_run)


def expire_submissions(ctx: OpsContext, dry_run: bool) -> dict[str, Any]:
    """Unpaid submissions past their quote (``expired``, uploads freed); old sign-in nonces and sessions."""
    report = expire_stale_submissions(ctx.db, ctx.settings, now=ctx.clock(), dry_run=dry_run)
    return {**report, **purge_expired(ctx.db, now=ctx.clock(), dry_run=dry_run)}


# name -> (context, dry_run) -> report; the profile flow adds uploads and unpaid submissions here.
EXPIRERS: dict[str, Callable[[OpsContext, bool], dict[str, Any]]] = {
    "incoming_uploads": expire_incoming,
    "uploads": expire_uploads,
    "tus_uploads": expire_tus_uploads,
    "submissions": expire_submissions,
}


def run_orphan_objects(ctx: OpsContext, params: dict[str, Any]) -> dict[str, Any]:
    return orphans.sweep_every_storage(ctx.db, ctx.settings, ctx.storage(),
                                       min_age=timedelta(hours=ctx.settings.ORPHAN_MIN_AGE_HOURS),
                                       now=ctx.clock(), dry_run=params["dry_run"])


def run_dead_letters(ctx: OpsContext, params: dict[str, Any]) -> dict[str, Any]:
    """Report dead letters (counts, newest first); re-drive is a separate, explicit task."""
    client = ctx.redis()
    counts = queues.dead_letter_counts(client)
    newest = queues.dead_letters(client, limit=20)
    return {"counts": counts, "total": sum(counts.values()), "newest": newest}


def run_redrive(ctx: OpsContext, params: dict[str, Any]) -> dict[str, Any]:
    return queues.redrive(ctx.redis(), source=params["source"], queue=params["queue"] or None,
                          ids=params["ids"] or None, limit=params["limit"])


def run_sweep_webhooks(ctx: OpsContext, params: dict[str, Any]) -> dict[str, Any]:
    webhooks = WebhookContext(db=ctx.db, settings=ctx.settings, storages=get_tenant_storages(ctx.settings),
                              clock=ctx.clock)
    return resend_lost_attempts(webhooks, _senders(ctx, "sweep-webhooks").deliver_webhook)


def run_sweep_payments(ctx: OpsContext, params: dict[str, Any]) -> dict[str, Any]:
    return payment.recheck_lost_payments(ctx.db, ctx.settings, _senders(ctx, "sweep-payments").check_payment,
                                         now=ctx.clock())


def run_sweep_pipelines(ctx: OpsContext, params: dict[str, Any]) -> dict[str, Any]:
    senders = _senders(ctx, "sweep-pipelines")
    return restart_lost(ctx.db, ctx.settings, ctx.redis(),
                        [(JOBS, senders.start_job), (SUBMISSIONS, senders.start_submission),
                         (TUS_UPLOADS, senders.finish_upload)], now=ctx.clock())


def _senders(ctx: OpsContext, task: str) -> QueueSenders:
    if ctx.senders is None:
        raise RuntimeError(f"{task} sends messages to the workers: run it on the light queue, not --inline")
    return ctx.senders


def run_prune_outbox(ctx: OpsContext, params: dict[str, Any]) -> dict[str, Any]:
    """Delete published outbox events older than OUTBOX_RETENTION_DAYS, in batches."""
    cutoff = ctx.clock() - timedelta(days=ctx.settings.OUTBOX_RETENTION_DAYS)
    deleted = 0
    while True:
        with ctx.db.session() as session:
            ids = session.scalars(select(OutboxEvent.id).where(OutboxEvent.published_at.is_not(None),
                                                               OutboxEvent.published_at < cutoff)
                                  .order_by(OutboxEvent.id).limit(params["batch"])).all()
            if not ids or params["dry_run"]:
                return {"dry_run": params["dry_run"], "events_deleted": deleted,
                        "would_delete_at_least": len(ids) if params["dry_run"] else 0,
                        "cutoff": cutoff.isoformat()}
            session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(ids)))
            deleted += len(ids)


TASKS: dict[str, Task] = {task.name: task for task in (
    Task("purge-temp", "Remove files under TEMP_DIR and objects under tmp/ in storage older than "
         "TEMP_RETENTION_HOURS (links not followed, files of running jobs and pending uploads kept)",
         "0 0 * * *", run_purge_temp, (DRY_RUN,)),
    Task("expire-abandoned", "Expire abandoned uploads (and, with the profile flow, unpaid submissions)",
         "*/15 * * * *", run_expire_abandoned, (DRY_RUN,)),
    Task("orphan-objects", "Remove storage objects no row refers to (a dry run until ops turn dry_run off)",
         "30 3 * * *", run_orphan_objects,
         (Param("dry_run", bool, True, "report what would be removed, remove nothing"),)),
    Task("dead-letters", "Report dead-lettered messages of the Dramatiq queues and the event streams",
         "0 * * * *", run_dead_letters),
    Task("redrive-dead-letters", "Put dead-lettered messages back on their queue or stream (off by default)",
         "*/30 * * * *", run_redrive,
         (Param("source", str, "all", "which dead letters", choices=("all", *queues.DEAD_LETTER_SOURCES)),
          Param("queue", str, "", "only this Dramatiq queue", choices=("", *queues.QUEUES)),
          Param("ids", list, [], "only these message or entry ids"),
          Param("limit", int, 1000, "at most this many")),
         enabled_by_default=False),
    Task("sweep-webhooks", "Send again webhook attempts whose message was lost or whose sender died",
         "*/5 * * * *", run_sweep_webhooks),
    Task("sweep-payments", "Check again pending payments whose check message was lost "
         "(none for PAYMENT_SWEEP_AFTER_SECONDS)", "*/5 * * * *", run_sweep_payments),
    Task("sweep-pipelines", "Send again the pipeline of media jobs and paid submissions, and the finish of "
         "tus uploads, whose messages were lost (untouched for PIPELINE_SWEEP_AFTER_SECONDS, none in the broker)",
         "*/5 * * * *",
         run_sweep_pipelines),
    Task("prune-outbox", "Delete published outbox events older than OUTBOX_RETENTION_DAYS", "0 1 * * *",
         run_prune_outbox, (DRY_RUN, Param("batch", int, 5000, "rows deleted per transaction"))),
)}


def build_context(settings: Settings, db: Database | None = None, *,
                  senders: QueueSenders | None = None) -> OpsContext:
    """The context ops tasks run with in a worker (which passes its ``senders``), the CLI or a test."""
    return OpsContext(db=db or get_database(settings), settings=settings, redis=lambda: get_redis(settings),
                      storage=lambda: get_default_storage(settings), senders=senders)
