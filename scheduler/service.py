"""The scheduler: APScheduler driven by a leader lock in Redis and the ``ops_schedules`` table.

Every instance starts APScheduler paused. Each tick (``SCHEDULER_TICK_SECONDS``)
an instance takes or renews the lock ``showreel:scheduler:leader`` (expiry
``SCHEDULER_LOCK_TTL_SECONDS``); only the holder resumes APScheduler and copies
the schedules into its job store. A standby takes over when the lock expires;
runs missed meanwhile still happen if at most ``SCHEDULER_MISFIRE_GRACE_SECONDS``
late (coalesced to one). If two instances ever fired the same cron time anyway
(a leader stalled past its lock), ``ops_runs``' unique (schedule, scheduled_for)
keeps it to one run. Without Redis nobody leads, and nothing runs until it is back.
"""

from __future__ import annotations

import logging
import threading

import redis
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from shared.db import Database
from shared.ops.lock import LeaderLock
from shared.ops.schedules import check_timezone, list_schedules
from shared.settings import Settings

log = logging.getLogger("scheduler")

LOCK_KEY = "showreel:scheduler:leader"
JOB_FUNCTION = "scheduler.jobs:fire"


def build_scheduler(settings: Settings, db: Database) -> BackgroundScheduler:
    store = SQLAlchemyJobStore(engine=db.engine, tablename="scheduler_jobs")
    return BackgroundScheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": settings.SCHEDULER_MISFIRE_GRACE_SECONDS},
        timezone=check_timezone(settings.SCHEDULER_TIMEZONE),
    )


class SchedulerService:
    def __init__(self, settings: Settings, db: Database, client: redis.Redis, *, name: str | None = None):
        self.settings = settings
        self.db = db
        self.lock = LeaderLock(client, LOCK_KEY, settings.SCHEDULER_LOCK_TTL_SECONDS, owner=name)
        self.scheduler = build_scheduler(settings, db)
        self.leading = False

    def start(self) -> None:
        self.scheduler.start(paused=True)

    def tick(self) -> bool:
        """Take or keep the lead; while leading, apply schedule changes. Return whether we lead."""
        try:
            leader = self.lock.acquire_or_renew()
        except redis.RedisError as exc:
            log.warning("scheduler: Redis unavailable (%s): not leading", type(exc).__name__)
            leader = False
        if leader:
            try:
                self.sync()
            except Exception:
                log.exception("scheduler: applying schedule changes failed; retrying next tick")
            if not self.leading:
                self.scheduler.resume()
                log.info("scheduler %s leads: %d schedules", self.lock.token, len(self.scheduler.get_jobs()))
        elif self.leading:
            self.scheduler.pause()
            log.warning("scheduler %s lost the lead", self.lock.token)
        self.leading = leader
        return leader

    def sync(self) -> None:
        """Make APScheduler's job store match the schedules (cron, time zone, enabled)."""
        jobs = {job.id: job for job in self.scheduler.get_jobs()}
        wanted = {schedule.name: schedule for schedule in list_schedules(self.db, self.settings)}
        for name, schedule in wanted.items():
            job = jobs.get(name)
            if not schedule.enabled:
                if job is not None:
                    self._remove(name)
                continue
            trigger = schedule.trigger()
            if job is None:
                self.scheduler.add_job(JOB_FUNCTION, trigger=trigger, id=name, name=name, args=[name],
                                       replace_existing=True)
                log.info("schedule %s added: %s (%s)", name, schedule.cron, schedule.timezone)
            elif str(job.trigger) != str(trigger) or str(job.trigger.timezone) != str(trigger.timezone):
                self.scheduler.reschedule_job(name, trigger=trigger)
                log.info("schedule %s changed: %s (%s)", name, schedule.cron, schedule.timezone)
            elif job.next_run_time is None:
                self.scheduler.resume_job(name)
        for name in set(jobs) - set(wanted):
            self._remove(name)

    def _remove(self, name: str) -> None:
        try:
            self.scheduler.remove_job(name)
            log.info("schedule %s removed from the job store", name)
        except JobLookupError:
            pass

    def run(self, stop: threading.Event) -> None:
        self.start()
        try:
            while not stop.is_set():
                self.tick()
                stop.wait(self.settings.SCHEDULER_TICK_SECONDS)
        finally:
            self.stop()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.leading:
            try:
                self.lock.release()  # a standby takes over at its next tick, not after the expiry
            except redis.RedisError:
                pass
            self.leading = False

    def next_runs(self) -> dict[str, str | None]:
        return {job.id: job.next_run_time.isoformat() if job.next_run_time else None
                for job in self.scheduler.get_jobs()}

