"""Ops API (SPEC 4.3): schedules, runs, queues, dead letters. Every route needs the ops token."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import ops_caller, require_ops_token
from api.ops import schemas
from shared.errors import ServiceUnavailable
from shared.ops import queues, runs, schedules
from shared.redis_client import get_redis

blp = Blueprint("ops", __name__, url_prefix="/api/ops", description="Operations (ops token required)")
SECURITY = [{"opsToken": []}]


@blp.before_request
def _authenticate() -> None:
    require_ops_token()


def _deps():
    return current_app.extensions["showreel.db"], current_app.config["SETTINGS"]


@contextmanager
def _redis() -> Iterator[redis.Redis]:
    """The Redis client; a Redis that is down is a 503, not a 500."""
    try:
        yield get_redis(current_app.config["SETTINGS"])
    except redis.RedisError as exc:
        raise ServiceUnavailable(f"Redis is unreachable ({type(exc).__name__}); try again") from None


def schedule_view(schedule: schedules.Schedule, last: Any | None) -> dict[str, Any]:
    next_run = schedule.next_run_at()
    return {
        "name": schedule.name, "description": schedule.task.description, "cron": schedule.cron,
        "timezone": schedule.timezone, "enabled": schedule.enabled, "params": schedule.params,
        "next_run_at": next_run.isoformat() if next_run else None, "default_cron": schedule.task.default_cron,
        "customized": schedule.customized,
        "updated_at": schedule.updated_at.isoformat() if schedule.updated_at else None,
        "updated_by": schedule.updated_by,
        "last_run": None if last is None else {
            "id": last.id, "status": last.status, "trigger": last.trigger, "created_at": last.created_at.isoformat(),
            "finished_at": last.finished_at.isoformat() if last.finished_at else None},
        "accepts": [{"name": p.name, "type": p.type.__name__, "default": p.default, "description": p.description,
                     "choices": list(p.choices)} for p in schedule.task.params],
    }


@blp.route("/schedules/")
class Schedules(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.ScheduleList)
    def get(self):
        """List the schedules with their next run time and last run."""
        db, settings = _deps()
        last = schedules.last_runs(db)
        return {"schedules": [schedule_view(s, last.get(s.name)) for s in schedules.list_schedules(db, settings)]}


@blp.route("/schedules/<string:name>/")
class ScheduleResource(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.Schedule)
    def get(self, name: str):
        """One schedule."""
        db, settings = _deps()
        return schedule_view(schedules.get_schedule(db, settings, name), schedules.last_runs(db).get(name))

    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.ScheduleChange)
    @blp.response(200, schemas.Schedule)
    def put(self, change: dict[str, Any], name: str):
        """Change cron, time zone, enabled or parameters (422 ``invalid_cron`` ...); the scheduler applies
        it within SCHEDULER_TICK_SECONDS, and it survives restarts."""
        db, settings = _deps()
        schedule = schedules.update_schedule(db, settings, name, cron=change.get("cron"),
                                             enabled=change.get("enabled"), timezone=change.get("timezone"),
                                             params=change.get("params"), updated_by=ops_caller())
        return schedule_view(schedule, schedules.last_runs(db).get(name))


@blp.route("/schedules/<string:name>/run/")
class RunNow(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.RunRequest, required=False)
    @blp.response(202, schemas.RunAccepted)
    def post(self, body: dict[str, Any] | None, name: str):
        """Run a schedule's task now, on the light queue; follow it at GET /api/ops/runs/{id}/."""
        db, settings = _deps()
        run = runs.request_run(db, settings, name, trigger="api", params=(body or {}).get("params"),
                               requested_by=ops_caller())
        return {"run_id": run.id, "schedule": run.schedule, "status": run.status}


@blp.route("/runs/")
class Runs(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.RunQuery, location="query")
    @blp.response(200, schemas.RunList)
    def get(self, query: dict[str, Any]):
        """Runs, newest first, with what each did (files and bytes removed, errors)."""
        db, _ = _deps()
        found = runs.list_runs(db, schedule=query["schedule"], status=query["status"], limit=query["limit"],
                               before=query["before"])
        next_before = found[-1].created_at.isoformat() if len(found) == query["limit"] else None
        return {"runs": [runs.run_view(run) for run in found], "next_before": next_before}


@blp.route("/runs/<uuid:run_id>/")
class RunResource(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.Run)
    def get(self, run_id: uuid.UUID):
        """One run (404 ``run_not_found``)."""
        db, _ = _deps()
        return runs.run_view(runs.get_run(db, run_id))


@blp.route("/queues/")
class Queues(MethodView):
    @blp.doc(security=SECURITY)
    @blp.response(200, schemas.Queues)
    def get(self):
        """Depth of each Dramatiq queue, event stream backlogs, the outbox backlog (503 without Redis)."""
        db, _ = _deps()
        with _redis() as client:
            depths, streams = queues.queue_depths(client), queues.stream_backlogs(client)
        return {"queues": depths, "streams": streams, "outbox": queues.outbox_backlog(db)}


@blp.route("/dead-letters/")
class DeadLetters(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.DeadLetterQuery, location="query")
    @blp.response(200, schemas.DeadLetters)
    def get(self, query: dict[str, Any]):
        """Dead-lettered Dramatiq messages and stream events, newest first."""
        with _redis() as client:
            return {"counts": queues.dead_letter_counts(client),
                    "dead_letters": queues.dead_letters(client, source=query["source"], queue=query["queue"],
                                                        limit=query["limit"])}


@blp.route("/dead-letters/redrive/")
class Redrive(MethodView):
    @blp.doc(security=SECURITY)
    @blp.arguments(schemas.RedriveRequest)
    @blp.response(202, schemas.RunAccepted)
    def post(self, body: dict[str, Any]):
        """Put dead letters back on their queue or stream (a ``redrive-dead-letters`` run on the light queue)."""
        db, settings = _deps()
        run = runs.request_run(db, settings, "redrive-dead-letters", trigger="api", params=body,
                               requested_by=ops_caller())
        return {"run_id": run.id, "schedule": run.schedule, "status": run.status}
