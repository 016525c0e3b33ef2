"""The scheduler: one leader through a Redis lock, schedules from the database, one run per cron time."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import redis
from sqlalchemy import select

from api.app import create_app
from scheduler import jobs
from scheduler.service import LOCK_KEY, SchedulerService
from shared.db import utcnow
from shared.events.models import OutboxEvent
from shared.ops.models import OpsRun
from shared.ops.runs import request_scheduled_run
from shared.ops.schedules import update_schedule
from tests.support.runtime import wait_for


@pytest.fixture()
def fast(settings):
    return settings.replace(SCHEDULER_TICK_SECONDS=0.1, SCHEDULER_LOCK_TTL_SECONDS=1.0)


def scheduler_pair(fast, db, redis_client):
    """Two scheduler "processes": own APScheduler, own lock token, own Redis connection."""
    url = fast.REDIS_URL
    return [SchedulerService(fast, db, redis.Redis.from_url(url), name=name) for name in ("one", "two")]


def run_in_thread(service: SchedulerService) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    return thread, stop


@pytest.fixture()
def simulated_clock(monkeypatch):
    """A clock that reads 23:59:58.5 UTC now and runs at real speed, for APScheduler and for firing."""
    midnight = dt.datetime.combine(utcnow().date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    offset = (midnight - dt.timedelta(seconds=1.5)) - dt.datetime.now(dt.UTC)

    class ShiftedDatetime(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime.now(tz) + offset

    import apscheduler.executors.base
    import apscheduler.schedulers.base

    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", ShiftedDatetime)
    monkeypatch.setattr(apscheduler.executors.base, "datetime", ShiftedDatetime)
    monkeypatch.setattr(jobs, "clock", lambda: ShiftedDatetime.now(dt.UTC))
    return midnight


def test_two_schedulers_at_midnight_run_the_purge_once(db, redis_client, fast, simulated_clock):
    services = scheduler_pair(fast, db, redis_client)
    threads = [run_in_thread(service) for service in services]
    try:
        wait_for(lambda: sum(s.leading for s in services) == 1, timeout=5, message="a leader")
        # Midnight passes 1.5 s after the clock was set; give both every chance to fire.
        wait_for(lambda: _runs(db), timeout=10, message="the purge to fire")
        time.sleep(1.5)
        assert sum(s.leading for s in services) == 1
    finally:
        for thread, stop in threads:
            stop.set()
            thread.join(timeout=10)

    runs = _runs(db)
    assert len(runs) == 1, [(r.schedule, r.scheduled_for) for r in runs]
    assert runs[0].scheduled_for == simulated_clock and runs[0].trigger == "schedule"
    with db.session() as session:
        events = session.scalars(select(OutboxEvent).where(OutboxEvent.type == "ops.run_requested")).all()
    # expire-abandoned, dead-letters and the three sweeps are due at midnight too, once each.
    fired = sorted(e.payload["schedule"] for e in events)
    assert fired == ["dead-letters", "expire-abandoned", "purge-temp", "sweep-payments", "sweep-pipelines",
                     "sweep-webhooks"]
    assert [e.payload["run_id"] for e in events if e.payload["schedule"] == "purge-temp"] == [str(runs[0].id)]


def _runs(db) -> list[OpsRun]:
    with db.session() as session:
        return session.scalars(select(OpsRun).where(OpsRun.schedule == "purge-temp")).all()


def test_the_same_cron_time_fired_by_two_schedulers_makes_one_run(db, settings):
    # The lock's second line of defence: a leader stalled past its lock and a new one fire the same midnight.
    midnight = dt.datetime(2030, 5, 1, tzinfo=dt.UTC)
    first = request_scheduled_run(db, settings, "purge-temp", now=midnight + dt.timedelta(seconds=0.2))
    second = request_scheduled_run(db, settings, "purge-temp", now=midnight + dt.timedelta(seconds=40))
    assert first is not None and first.scheduled_for == midnight
    assert second is None
    assert len(_runs(db)) == 1


def test_a_standby_takes_over_when_the_leader_stops(db, redis_client, fast):
    leader, standby = scheduler_pair(fast, db, redis_client)
    for service in (leader, standby):
        service.start()
    try:
        assert leader.tick() is True and standby.tick() is False
        assert redis_client.get(LOCK_KEY).decode() == leader.lock.token
        leader.stop()  # releases the lock
        assert standby.tick() is True
    finally:
        leader.stop()
        standby.stop()


def test_a_leader_that_cannot_renew_pauses_and_the_lock_expires_for_the_next(db, redis_client, fast):
    leader, standby = scheduler_pair(fast, db, redis_client)
    for service in (leader, standby):
        service.start()
    try:
        assert leader.tick()
        redis_client.set(LOCK_KEY, "someone-else", px=1000)  # e.g. the lock expired while it stalled
        assert leader.tick() is False and leader.scheduler.state == 2  # paused
        assert standby.tick() is False
        wait_for(lambda: standby.tick(), timeout=3, message="the lock to expire")
    finally:
        leader.stop()
        standby.stop()


def test_a_cron_changed_through_the_api_is_listed_and_survives_a_scheduler_restart(db, redis_client, fast):
    token = "ops-token-for-scheduler-tests-0123"
    ops = create_app(fast.replace(OPS_TOKEN=token)).test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert ops.put("/api/ops/schedules/purge-temp/", json={"cron": "30 4 * * *"}, headers=auth).status_code == 200
    assert ops.put("/api/ops/schedules/dead-letters/", json={"enabled": False}, headers=auth).status_code == 200
    listed = {s["name"]: s for s in ops.get("/api/ops/schedules/", headers=auth).get_json()["schedules"]}
    assert listed["purge-temp"]["cron"] == "30 4 * * *" and listed["purge-temp"]["next_run_at"].endswith("T04:30:00+00:00")
    first = SchedulerService(fast, db, redis_client)
    first.start()
    try:
        assert first.tick()
        job = first.scheduler.get_job("purge-temp")
        assert str(job.trigger) == str(update_schedule(db, fast, "purge-temp").trigger())
        assert (job.next_run_time.hour, job.next_run_time.minute) == (4, 30)
        assert first.scheduler.get_job("dead-letters") is None
    finally:
        first.stop()

    restarted = SchedulerService(fast, db, redis_client)
    restarted.start()
    try:
        # Before it leads (and syncs), the stored job already has the changed trigger.
        job = restarted.scheduler.get_job("purge-temp")
        assert (job.next_run_time.hour, job.next_run_time.minute) == (4, 30)
        assert restarted.tick()
        assert restarted.scheduler.get_job("expire-abandoned") is not None
        update_schedule(db, fast, "purge-temp", cron="0 0 * * *")
        restarted.tick()
        assert restarted.scheduler.get_job("purge-temp").next_run_time.hour == 0
    finally:
        restarted.stop()
    listed = {s["name"]: s for s in ops.get("/api/ops/schedules/", headers=auth).get_json()["schedules"]}
    assert listed["purge-temp"]["cron"] == "0 0 * * *" and listed["dead-letters"]["enabled"] is False
