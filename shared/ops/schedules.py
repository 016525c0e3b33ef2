"""Schedules: when each ops task runs. Defaults live in code, ops' changes in ``ops_schedules``.

The table is the source of truth ops change (API, CLI); the scheduler's leader
copies it into APScheduler's job store every tick, so a change needs no deploy
and survives restarts of every process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from shared.db import Database, utcnow
from shared.ops.errors import InvalidCron, InvalidTimezone, ScheduleNotFound
from shared.ops.models import OpsRun, OpsSchedule
from shared.ops.tasks import TASKS, Task
from shared.settings import Settings

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger


@dataclass(frozen=True)
class Schedule:
    name: str
    task: Task
    cron: str
    timezone: str
    enabled: bool
    params: dict[str, Any]
    customized: bool
    updated_at: datetime | None = None
    updated_by: str | None = None

    def trigger(self) -> CronTrigger:
        return build_trigger(self.cron, self.timezone)

    def next_run_at(self, now: datetime | None = None) -> datetime | None:
        if not self.enabled:
            return None
        return self.trigger().get_next_fire_time(None, now or utcnow())

    def last_fire_time(self, now: datetime, lookback: timedelta) -> datetime | None:
        """The latest cron time at or before ``now`` (within ``lookback``): the run a firing belongs to."""
        trigger = self.trigger()
        fire = trigger.get_next_fire_time(None, now - lookback)
        last = None
        while fire is not None and fire <= now:
            last = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        return last


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ScheduleNotFound(f"no schedule named {name!r}; see GET /api/ops/schedules/") from None


def build_trigger(cron: str, timezone: str) -> CronTrigger:
    """A CronTrigger from a five-field crontab line; raise ``invalid_cron`` / ``invalid_timezone``."""
    zone = check_timezone(timezone)
    if not isinstance(cron, str) or len(cron.split()) != 5 or len(cron) > 100:
        raise InvalidCron("a cron expression has five fields: minute hour day month weekday",
                          errors={"cron": [f"{cron!r} is not a five-field cron expression"]})
    from apscheduler.triggers.cron import CronTrigger  # only the scheduler and schedule edits need it

    try:
        return CronTrigger.from_crontab(cron, timezone=zone)
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidCron(f"invalid cron expression: {exc}", errors={"cron": [str(exc)]}) from None


def check_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidTimezone(f"unknown time zone {name!r}",
                              errors={"timezone": [f"{name!r} is not an IANA time zone name"]}) from None


def _effective(task: Task, row: OpsSchedule | None, settings: Settings) -> Schedule:
    if row is None:
        return Schedule(task.name, task, task.default_cron, settings.SCHEDULER_TIMEZONE, task.enabled_by_default,
                        task.defaults(), customized=False)
    params = {**task.defaults(), **{k: v for k, v in (row.params or {}).items() if k in task.defaults()}}
    return Schedule(task.name, task, row.cron, row.timezone or settings.SCHEDULER_TIMEZONE, row.enabled, params,
                    customized=True, updated_at=row.updated_at, updated_by=row.updated_by)


def list_schedules(db: Database, settings: Settings) -> list[Schedule]:
    with db.session() as session:
        rows = {row.name: row for row in session.scalars(select(OpsSchedule))}
    return [_effective(task, rows.get(name), settings) for name, task in TASKS.items()]


def get_schedule(db: Database, settings: Settings, name: str) -> Schedule:
    task = get_task(name)
    with db.session() as session:
        row = session.get(OpsSchedule, name)
    return _effective(task, row, settings)


def update_schedule(db: Database, settings: Settings, name: str, *, cron: str | None = None,
                    enabled: bool | None = None, timezone: str | None = None,
                    params: dict[str, Any] | None = None, updated_by: str | None = None) -> Schedule:
    """Change a schedule (only the given fields); raise ``invalid_cron``/``invalid_timezone``/``invalid_params``."""
    task = get_task(name)
    with db.session() as session:
        row = session.get(OpsSchedule, name, with_for_update=True)
        current = _effective(task, row, settings)
        new_cron = current.cron if cron is None else " ".join(cron.split())
        new_zone = current.timezone if timezone is None else timezone
        build_trigger(new_cron, new_zone)
        new_params = task.clean_params(params, base=current.params)
        stored_zone = timezone if timezone is not None else (row.timezone if row is not None else None)
        if row is None:
            row = OpsSchedule(name=name)
            session.add(row)
        row.cron = new_cron
        row.timezone = stored_zone  # None: follow SCHEDULER_TIMEZONE
        row.enabled = current.enabled if enabled is None else enabled
        row.params = new_params
        row.updated_at = utcnow()
        row.updated_by = updated_by
        session.flush()
        return _effective(task, row, settings)


def last_runs(db: Database) -> dict[str, OpsRun]:
    """The newest run of every schedule."""
    with db.session() as session:
        newest = (select(OpsRun.schedule, func.max(OpsRun.created_at).label("at"))
                  .group_by(OpsRun.schedule).subquery())
        rows = session.scalars(select(OpsRun).join(newest, (OpsRun.schedule == newest.c.schedule)
                                                   & (OpsRun.created_at == newest.c.at)))
        return {row.schedule: row for row in rows}
