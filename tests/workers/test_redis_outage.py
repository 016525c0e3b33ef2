"""Redis is down when the API accepts a job: the job and its event wait in the outbox."""

from __future__ import annotations

import io
import threading
import time

import redis
from sqlalchemy import func, select

from api.app import create_app
from shared.events.models import OutboxEvent
from tests.support.media import jpeg_with_orientation_and_gps
from tests.support.runtime import pipeline_runtime, wait_for
from tests.support.tcpproxy import TcpProxy
from workers.relay import run_relay


def outbox_counts(db, job_id: str) -> tuple[int, int]:
    with db.session() as session:
        total = session.scalar(select(func.count()).where(OutboxEvent.aggregate_id == job_id))
        unpublished = session.scalar(select(func.count()).where(OutboxEvent.aggregate_id == job_id,
                                                                OutboxEvent.published_at.is_(None)))
    return total, unpublished


def test_job_accepted_during_a_redis_outage_runs_when_redis_returns(db, redis_client, settings):
    kwargs = redis_client.connection_pool.connection_kwargs
    proxy = TcpProxy("127.0.0.1", kwargs["port"])
    outage = settings.replace(REDIS_URL=f"redis://{proxy.url_host}/{kwargs.get('db', 0)}")
    client = create_app(outage).test_client()

    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["failed"] == ["redis"]

    created = client.post("/api/media/", data={"file": (io.BytesIO(jpeg_with_orientation_and_gps(64, 48)), "a.jpg")})
    assert created.status_code == 201
    job_id = created.get_json()["job_id"]
    assert outbox_counts(db, job_id) == (1, 1)  # committed with the job, not yet published

    stop = threading.Event()
    relay_client = redis.Redis.from_url(outage.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=2)
    relay = threading.Thread(target=run_relay, args=(db, relay_client, outage, stop), daemon=True)
    try:
        # The dispatcher and workers are up; only the relay's path to Redis is cut.
        with pipeline_runtime(settings, relay=False):
            relay.start()
            time.sleep(2.0)
            assert outbox_counts(db, job_id) == (1, 1)
            assert client.get(f"/api/media/{job_id}/").get_json()["status"] == "queued"

            proxy.start()

            def done():
                job = client.get(f"/api/media/{job_id}/").get_json()
                return job if job["status"] == "done" else None

            job = wait_for(done, timeout=30, message="job to finish")
            wait_for(lambda: outbox_counts(db, job_id)[1] == 0, timeout=10, message="outbox to drain")
    finally:
        stop.set()
        relay.join(timeout=10)
        proxy.stop()

    assert job["status"] == "done"
    assert outbox_counts(db, job_id) == (3, 0)  # queued, processing, done: all published
    with db.session() as session:
        done_events = session.scalar(select(func.count()).where(OutboxEvent.aggregate_id == job_id,
                                                                OutboxEvent.type == "job.done"))
    assert done_events == 1
