"""Redis fails exactly when a step hands the next one over: the job still ends done, exactly once.

Dramatiq's Pipelines middleware enqueues the next step after the current one returned and
only logs a failure; the current message was acked anyway, so a Redis outage at that moment
left the job in a non-final state for good (found by bench/load/chaos.py).
"""

from __future__ import annotations

import io
import threading

import pytest
import redis
from sqlalchemy import func, select

from shared.events.models import OutboxEvent
from shared.jobs.models import MediaJob
from tests.support.media import jpeg_with_orientation_and_gps
from tests.support.runtime import pipeline_runtime, wait_for
from workers.broker import broker


class FailingEnqueues:
    """Make the broker's enqueue of ``actor_name`` raise ``error`` (Redis refusing the connection) ``times`` times."""

    def __init__(self, monkeypatch, actor_name: str, *, times: int, error: Exception | None = None):
        self.actor_name, self.left, self.failed = actor_name, times, 0
        self.error = error or redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.lock = threading.Lock()
        self.enqueue = broker.enqueue
        monkeypatch.setattr(broker, "enqueue", self)

    def __call__(self, message, *, delay=None):
        with self.lock:
            fail = message.actor_name == self.actor_name and self.left > 0
            if fail:
                self.left -= 1
                self.failed += 1
        if fail:
            raise self.error
        return self.enqueue(message, delay=delay)


def job_done_events(db, job_id: str) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).where(OutboxEvent.aggregate_id == job_id,
                                                         OutboxEvent.type == "job.done"))


def run_image_job(client, settings, db) -> tuple[dict, MediaJob]:
    with pipeline_runtime(settings):
        created = client.post("/api/media/", data={"file": (io.BytesIO(jpeg_with_orientation_and_gps(64, 48)),
                                                            "a.jpg")})
        assert created.status_code == 201, created.get_json()
        job_id = created.get_json()["job_id"]

        def done():
            job = client.get(f"/api/media/{job_id}/").get_json()
            return job if job["status"] in ("done", "failed") else None

        job = wait_for(done, timeout=30, message="job to reach a final state")
    with db.session() as session:
        row = session.get(MediaJob, job_id)
        session.expunge(row)
    return job, row


@pytest.mark.parametrize("error", [
    redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
    # Redis answers but refuses the write: full under noeviction, or a replica mid-failover.
    redis.exceptions.OutOfMemoryError("OOM command not allowed when used memory > 'maxmemory'."),
    redis.ReadOnlyError("You can't write against a read only replica."),
], ids=["refused", "out-of-memory", "read-only-replica"])
def test_a_hand_off_refused_by_redis_is_redelivered_and_the_job_ends_done_once(client, settings, db, monkeypatch,
                                                                               error):
    # convert_image finishes, then Redis refuses the enqueue of upload_outputs (twice: the first
    # redelivery's hand-off fails too). Acked instead, the job would stop after convert for good.
    failing = FailingEnqueues(monkeypatch, "upload_outputs", times=2, error=error)

    job, row = run_image_job(client, settings, db)

    assert failing.failed == 2
    assert job["status"] == "done", job
    assert job_done_events(db, str(row.id)) == 1
    # The redeliveries found convert done in the ledger: it ran once, and every later step once.
    assert {name: step["deliveries"] for name, step in row.steps.items()} == \
        {"convert": 1, "upload": 1, "persist": 1}


def test_a_retry_refused_by_redis_is_redelivered_and_the_job_ends_done_once(client, settings, db, monkeypatch):
    # The upload step fails with a transient error once; Redis then refuses the retry's enqueue.
    from shared.jobs import steps

    original = steps.STEP_FUNCTIONS["upload"]
    calls = {"n": 0}

    def flaky_upload(ctx, snapshot):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("storage hiccup")
        return original(ctx, snapshot)

    monkeypatch.setitem(steps.STEP_FUNCTIONS, "upload", flaky_upload)
    failing = FailingEnqueues(monkeypatch, "upload_outputs", times=2)  # the hand-off, then the retry
    job, row = run_image_job(client, settings, db)

    assert failing.failed == 2
    assert job["status"] == "done", job
    assert job_done_events(db, str(row.id)) == 1
    assert row.steps["persist"]["deliveries"] == 1


@pytest.mark.parametrize("error", [redis.ConnectionError("Connection refused"), redis.TimeoutError("Timeout reading"),
                                   redis.exceptions.OutOfMemoryError("OOM command not allowed")],
                         ids=["refused", "timeout", "out-of-memory"])
def test_a_redelivery_whose_requeue_meets_redis_down_is_retried_like_an_ack(redis_client, settings, monkeypatch,
                                                                            error):
    """The consumer's requeue raises ConnectionClosed (Dramatiq's consumer thread retries it, as an ack)
    and keeps the message counted as its own until it succeeds; then the message is back on its queue."""
    import dramatiq
    from dramatiq.errors import ConnectionClosed

    from workers.wakeup import redeliver_instead_of_ack

    queue = "handoff-test"
    broker.declare_queue(queue)
    broker.enqueue(dramatiq.Message(queue_name=queue, actor_name="noop", args=(), kwargs={}, options={}))
    consumer = broker.consume(queue, prefetch=1, timeout=100)
    try:
        message = next(m for m in iter(lambda: next(consumer), ...) if m is not None)
        redeliver_instead_of_ack(message)
        requeue = broker.do_requeue

        def down(*args):
            raise error

        monkeypatch.setattr(broker, "do_requeue", down)
        try:
            consumer.ack(message)
        except ConnectionClosed:
            pass
        else:
            raise AssertionError("the requeue met Redis down but did not raise ConnectionClosed")
        assert message.message_id in consumer.queued_message_ids  # still ours: a retry will requeue it

        monkeypatch.setattr(broker, "do_requeue", requeue)
        consumer.ack(message)
        assert message.message_id not in consumer.queued_message_ids
        again = next(m for m in iter(lambda: next(consumer), ...) if m is not None)
        assert again.message_id == message.message_id  # redelivered, not acked away
        consumer.ack(again)
    finally:
        consumer.close()
        for key in redis_client.keys(f"dramatiq:{queue}*"):
            redis_client.delete(key)


class BrokenEnqueue(FailingEnqueues):
    def __call__(self, message, *, delay=None):
        if message.actor_name == self.actor_name and self.left > 0:
            self.left -= 1
            self.failed += 1
            raise ValueError("a bug in a middleware, not Redis")
        return self.enqueue(message, delay=delay)


def test_a_hand_off_that_fails_for_another_reason_than_redis_is_not_redelivered_forever(client, settings, db,
                                                                                      monkeypatch):
    """A redelivery would only repeat a bug: the message is left to Dramatiq's own handling (logged)."""
    broken = BrokenEnqueue(monkeypatch, "upload_outputs", times=100)
    with pipeline_runtime(settings):
        created = client.post("/api/media/", data={"file": (io.BytesIO(jpeg_with_orientation_and_gps(64, 48)),
                                                            "a.jpg")})
        job_id = created.get_json()["job_id"]
        wait_for(lambda: broken.failed >= 1 or None, timeout=30, message="the broken hand-off")
        import time

        time.sleep(2.5)  # a redelivery loop would have tried again by now (one round a second)
    assert broken.failed == 1
    with db.session() as session:
        assert session.get(MediaJob, job_id).steps["convert"]["deliveries"] == 1
