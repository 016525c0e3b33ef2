"""A step hands the next one to the head of its queue: a job that has begun finishes before new ones begin.

With every hand-off at the tail, a backlog of N image jobs ran all N converts before the first
upload, so every job finished near the end of the backlog (under the load benchmark's photo
workload, 88 of 128 jobs came done in the last 1.5 s, and each was polled through all of it).
"""

from __future__ import annotations

import io
import itertools

import dramatiq
from sqlalchemy import select

from shared.jobs.models import MediaJob
from tests.support.media import jpeg_with_orientation_and_gps
from tests.support.runtime import pipeline_runtime, wait_for
from workers.broker import broker

QUEUE = "hand-off-order-test"


def _message(name: str) -> dramatiq.Message:
    return dramatiq.Message(queue_name=QUEUE, actor_name=name, args=(), kwargs={}, options={})


def _fetch_all(count: int) -> list[str]:
    consumer = broker.consume(QUEUE, prefetch=count, timeout=100)
    try:
        names: list[str] = []
        while len(names) < count:
            message = next(consumer)
            if message is not None:
                names.append(message.actor_name)
                consumer.ack(message)
        return names
    finally:
        consumer.close()


def _clean(redis_client) -> None:
    for key in redis_client.keys(f"dramatiq:{QUEUE}*"):
        redis_client.delete(key)


def test_a_hand_off_goes_to_the_head_of_its_queue_and_a_new_message_to_the_tail(redis_client):
    broker.declare_queue(QUEUE)
    try:
        broker.enqueue(_message("new-1"))
        broker.enqueue(_message("new-2"))
        with broker.handing_off():
            broker.enqueue(_message("next-step"))
        broker.enqueue(_message("new-3"))
        assert _fetch_all(4) == ["next-step", "new-1", "new-2", "new-3"]
    finally:
        _clean(redis_client)


def test_a_hand_off_still_goes_to_the_head_after_redis_lost_its_scripts(redis_client):
    """A restarted Redis has no scripts: both of the enqueue's scripts are loaded again and run, in order."""
    broker.declare_queue(QUEUE)
    try:
        broker.enqueue(_message("new-1"))
        redis_client.script_flush()
        with broker.handing_off():
            broker.enqueue(_message("next-step"))
        assert _fetch_all(2) == ["next-step", "new-1"]
    finally:
        _clean(redis_client)


def test_a_delayed_hand_off_waits_in_the_delay_queue(redis_client):
    broker.declare_queue(QUEUE)
    try:
        with broker.handing_off():
            broker.enqueue(_message("later"), delay=60_000)
        assert redis_client.llen(f"dramatiq:{QUEUE}.DQ") == 1
        assert redis_client.llen(f"dramatiq:{QUEUE}") == 0
    finally:
        _clean(redis_client)


def test_under_a_backlog_each_image_job_finishes_before_the_next_one_starts(client, settings, db, redis_client):
    """Three jobs queued before a one-thread worker starts: convert, upload and persist of one job run
    back to back (its hand-offs jump the other jobs' converts), so they come done one by one."""
    ids = []
    with pipeline_runtime(settings, queues=()):  # relay and dispatcher only: the converts wait in Redis
        for width in (64, 72, 80):
            created = client.post("/api/media/", data={"file": (io.BytesIO(jpeg_with_orientation_and_gps(width, 48)),
                                                                f"{width}.jpg")})
            assert created.status_code == 201, created.get_json()
            ids.append(created.get_json()["job_id"])
        wait_for(lambda: redis_client.llen("dramatiq:media") == 3 or None, timeout=30, message="3 queued converts")
    with pipeline_runtime(settings, queues=("media", "light"), worker_threads=1, relay=False):
        def finished():
            with db.session() as session:
                jobs = session.scalars(select(MediaJob).where(MediaJob.id.in_(ids))).all()
                return jobs if all(job.status == "done" for job in jobs) else None

        jobs = wait_for(finished, timeout=60, message="the three jobs done")
    jobs = sorted(jobs, key=lambda job: job.started_at)
    for earlier, later in itertools.pairwise(jobs):
        assert earlier.finished_at <= later.started_at, [(j.started_at, j.finished_at) for j in jobs]
