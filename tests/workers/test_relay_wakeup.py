"""Commits wake the relay and enqueues wake the workers: nothing waits for a poll."""

from __future__ import annotations

import threading
import time

import dramatiq
import pytest

from shared.db import Database
from shared.db.migrate import upgrade
from shared.events.outbox import record_event
from tests.support.runtime import pipeline_runtime, wait_for
from workers.broker import broker
from workers.handlers import HANDLERS
from workers.relay import run_relay

SLOW_SWEEP = 5.0  # RELAY_POLL_INTERVAL: the next sweep is this far away
started: dict[str, float] = {}


@dramatiq.actor(broker=broker, queue_name="light", actor_name="test_wakeup_probe", max_retries=0)
def wakeup_probe(event_id: str) -> None:
    started[event_id] = time.monotonic()


def test_relay_wakeup_an_event_reaches_its_actor_long_before_the_next_poll(db, redis_client, settings, monkeypatch):
    slow = settings.replace(RELAY_POLL_INTERVAL=SLOW_SWEEP)
    monkeypatch.setitem(HANDLERS, "ops.wakeup_probe", lambda event: wakeup_probe.send(event.event_id))
    with pipeline_runtime(slow, queues=("light",)):
        time.sleep(1.0)  # the relay has swept the empty outbox and waits for the next sweep
        with db.session() as session:
            event_id = str(record_event(session, "ops.wakeup_probe", "probe", {}).event_id)
        committed = time.monotonic()
        wait_for(lambda: event_id in started, timeout=SLOW_SWEEP + 5, interval=0.01, message="the actor to start")
    assert started[event_id] - committed < 1.0, "the event waited for the relay's sweep"


def test_relay_wakeup_on_sqlite_comes_through_redis_after_the_commit(redis_client, settings, tmp_path):
    url = f"sqlite:///{tmp_path}/showreel.db"
    upgrade(url)
    sqlite = Database(url)
    slow = settings.replace(DATABASE_URL=url, RELAY_POLL_INTERVAL=SLOW_SWEEP)
    stop = threading.Event()
    relay = threading.Thread(target=run_relay, args=(sqlite, redis_client, slow, stop), daemon=True)
    relay.start()
    try:
        time.sleep(1.0)
        with sqlite.session() as session:
            record_event(session, "job.progress", "job-1", {"n": 1})
        committed = time.monotonic()
        wait_for(lambda: redis_client.xlen("events:jobs") == 1, timeout=SLOW_SWEEP + 5, interval=0.01,
                 message="the event to be published")
        assert time.monotonic() - committed < 1.0, "the event waited for the relay's sweep"
    finally:
        stop.set()
        relay.join(timeout=10)
        sqlite.dispose()


@pytest.fixture()
def private_redis(tmp_path):
    """A redis-server of our own: INFO commandstats then counts only this test's clients."""
    from shared.embedded import start_embedded_redis

    process, url = start_embedded_redis(tmp_path)
    yield url
    process.terminate()
    process.wait(timeout=10)


def _calls(client) -> int:
    return sum(int(v["calls"]) for v in client.info("commandstats").values())


def test_broker_wakeup_an_idle_worker_sends_few_commands_and_still_starts_at_once(settings, private_redis):
    import redis

    from workers.broker import build_broker

    own = build_broker(settings.replace(REDIS_URL=private_redis, BROKER_IDLE_POLL_MS=2500))
    ran: dict[str, float] = {}

    def probe(name: str) -> None:
        ran[name] = time.monotonic()

    actor = dramatiq.actor(probe, broker=own, queue_name="light", actor_name="probe", max_retries=0)
    worker = dramatiq.Worker(own, queues={"light"}, worker_threads=2, worker_timeout=100)
    worker.start()
    client = redis.Redis.from_url(private_redis)
    try:
        time.sleep(1.5)
        before, since = _calls(client), time.monotonic()
        time.sleep(4.0)
        rate = (_calls(client) - before - 1) / (time.monotonic() - since)
        assert rate <= 10, f"an idle worker sends {rate:.0f} Redis commands/s"

        sent = time.monotonic()
        actor.send("now")
        wait_for(lambda: "now" in ran, timeout=5, interval=0.01)
        assert ran["now"] - sent < 0.5, "the message waited for the idle poll"

        time.sleep(0.5)
        sent = time.monotonic()
        actor.send_with_options(args=("later",), delay=400)
        wait_for(lambda: "later" in ran, timeout=5, interval=0.01)
        assert 0.35 < ran["later"] - sent < 1.5, "a delayed message ran at the wrong time"
    finally:
        worker.stop(timeout=10_000)
        client.close()
