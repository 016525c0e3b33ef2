"""Ops runs: requested (by a schedule, the API or the CLI), executed on the light queue, reported.

A run is requested by committing its row with an ``ops.run_requested`` outbox
event in one transaction; the dispatcher hands it to the ``run_ops_task`` actor on
the ``light`` queue, which calls :func:`execute_run`. Nothing is published from
inside a transaction, and a run requested while Redis is down waits in the outbox.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared import metrics
from shared.db import Database, utcnow
from shared.events.outbox import record_event
from shared.logs import Redactor, log_context
from shared.ops.errors import RunNotFound
from shared.ops.models import OpsRun, RunStatus
from shared.ops.schedules import get_schedule, get_task
from shared.ops.tasks import OpsContext
from shared.settings import Settings

log = logging.getLogger(__name__)

RUN_REQUESTED = "ops.run_requested"
# A run whose worker died this often (SIGKILL, OOM) is failed instead of tried again.
MAX_DELIVERIES = 3


def request_run(db: Database, settings: Settings, name: str, *, trigger: str, params: dict[str, Any] | None = None,
                requested_by: str | None = None, scheduled_for: datetime | None = None) -> OpsRun:
    """Record a run of schedule ``name`` and its outbox event; raise ``schedule_not_found``/``invalid_params``.

    Raises IntegrityError when a run for the same ``scheduled_for`` exists.
    """
    schedule = get_schedule(db, settings, name)
    cleaned = schedule.task.clean_params(params, base=schedule.params)
    with db.session() as session:
        run = OpsRun(id=uuid.uuid4(), schedule=name, trigger=trigger, status=RunStatus.QUEUED, params=cleaned,
                     scheduled_for=scheduled_for, requested_by=requested_by, created_at=utcnow())
        session.add(run)
        session.flush()
        with log_context(run_id=str(run.id)):
            record_event(session, RUN_REQUESTED, run.id, {"run_id": str(run.id), "schedule": name})
    log.info("ops run %s of %s requested by %s", run.id, name, trigger)
    return run


def request_scheduled_run(db: Database, settings: Settings, name: str, *, now: datetime | None = None) -> OpsRun | None:
    """The scheduler fired ``name``: record its run once per cron time, whoever fires it."""
    now = now or utcnow()
    schedule = get_schedule(db, settings, name)
    if not schedule.enabled:
        log.info("schedule %s fired but is disabled: nothing to do", name)
        return None
    lookback = timedelta(seconds=settings.SCHEDULER_MISFIRE_GRACE_SECONDS + 60)
    scheduled_for = schedule.last_fire_time(now, lookback) or now.replace(microsecond=0)
    try:
        return request_run(db, settings, name, trigger="schedule", scheduled_for=scheduled_for)
    except IntegrityError:
        log.info("schedule %s at %s already has its run (another scheduler fired it)", name,
                 scheduled_for.isoformat())
        return None


def execute_run(ctx: OpsContext, run_id: uuid.UUID | str) -> OpsRun | None:
    """Run a requested task and record what it did; None when there is nothing (left) to do."""
    run_id = uuid.UUID(str(run_id))
    with ctx.db.session() as session:
        run = session.get(OpsRun, run_id, with_for_update=True)
        if run is None or run.status in RunStatus.FINAL:
            return None
        run.deliveries += 1
        if run.deliveries > MAX_DELIVERIES:
            _finish(run, RunStatus.FAILED, run.stats or {},
                    f"delivered {run.deliveries - 1} times without finishing (worker killed?)")
            return run
        run.status = RunStatus.RUNNING
        run.started_at = utcnow()
        name, params = run.schedule, dict(run.params or {})
    with log_context(run_id=str(run_id), schedule=name):
        log.info("ops run %s of %s started", run_id, name)
        status, report, error = RunStatus.SUCCEEDED, {}, None
        try:
            task = get_task(name)
            report = task.run(ctx, task.clean_params(params))
        except Exception as exc:
            log.exception("ops run %s of %s failed", run_id, name)
            status = RunStatus.FAILED
            error = Redactor.from_settings(ctx.settings).text(f"{type(exc).__name__}: {exc}")[:2000]
        with ctx.db.session() as session:
            run = session.get(OpsRun, run_id, with_for_update=True)
            _finish(run, status, report, error)
        removed = int(report.get("bytes_removed", 0) or 0) + sum(
            int(part.get("bytes_removed", 0) or 0) for part in report.values() if isinstance(part, dict))
        metrics.record_ops_run(name, status, removed)
        log.info("ops run %s of %s %s", run_id, name, status,
                 extra={"report": {k: v for k, v in report.items() if not isinstance(v, list)}})
    return run


def _finish(run: OpsRun, status: str, report: dict[str, Any], error: str | None) -> None:
    run.status = status
    run.stats = report
    run.error = error
    run.finished_at = utcnow()


def get_run(db: Database, run_id: uuid.UUID) -> OpsRun:
    with db.session() as session:
        run = session.get(OpsRun, run_id)
    if run is None:
        raise RunNotFound(f"no ops run {run_id}")
    return run


def list_runs(db: Database, *, schedule: str | None = None, status: str | None = None, limit: int = 50,
              before: datetime | None = None) -> list[OpsRun]:
    """Runs newest first (``before``: page through older ones by ``created_at``)."""
    query = select(OpsRun).order_by(OpsRun.created_at.desc(), OpsRun.id.desc()).limit(limit)
    if schedule:
        query = query.where(OpsRun.schedule == schedule)
    if status:
        query = query.where(OpsRun.status == status)
    if before is not None:
        query = query.where(OpsRun.created_at < before)
    with db.session() as session:
        return list(session.scalars(query))


def run_view(run: OpsRun) -> dict[str, Any]:
    return {
        "id": str(run.id), "schedule": run.schedule, "trigger": run.trigger, "status": run.status,
        "params": run.params or {}, "requested_by": run.requested_by,
        "scheduled_for": _iso(run.scheduled_for), "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at), "finished_at": _iso(run.finished_at),
        "duration_seconds": (run.finished_at - run.started_at).total_seconds()
        if run.finished_at and run.started_at else None,
        "deliveries": run.deliveries, "stats": run.stats or {}, "error": run.error,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
