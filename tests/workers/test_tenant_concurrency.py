"""Heavy-queue concurrency per tenant: one client at its cap cannot starve the others."""

from __future__ import annotations

import io
import time

from api.app import create_app
from shared.redis_client import get_redis
from shared.tenants.concurrency import TenantSlots
from shared.tenants.service import create_tenant
from tests.support.media import h264_mp4
from tests.support.runtime import pipeline_runtime, wait_for


def test_slots_count_holders_up_to_the_cap_and_free_expired_leases(redis_client):
    slots = TenantSlots(redis_client, lease_seconds=0.3)

    assert slots.acquire("t1", "a", 2) and slots.acquire("t1", "b", 2)
    assert not slots.acquire("t1", "c", 2)
    assert slots.acquire("t1", "a", 2)  # a redelivered message takes its own slot back
    assert slots.acquire("t2", "c", 2)  # another tenant has its own slots
    slots.release("t1", "b")
    assert slots.acquire("t1", "c", 2)
    time.sleep(0.4)
    assert slots.holders("t1") == [] and slots.acquire("t1", "d", 1)


def test_a_tenant_at_its_video_cap_waits_while_another_tenants_video_runs(db, redis_client, settings, tmp_path):
    client = create_app(settings.replace(APP_ENV="production")).test_client()
    busy, busy_key = create_tenant(db, settings, "busy", limits={"video_concurrency": 1})
    _, other_key = create_tenant(db, settings, "other")
    slots = TenantSlots(get_redis(settings), kind="video")
    assert slots.acquire(busy.id, "a-long-transcode-elsewhere", 1)  # busy's one slot is taken
    clip = h264_mp4(tmp_path / "clip.mp4", seconds=1, size="160x120", audio=False).read_bytes()

    def submit(key):
        created = client.post("/api/media/", data={"file": (io.BytesIO(clip), "clip.mp4")},
                              headers={"Authorization": f"Bearer {key}"})
        assert created.status_code == 201, created.get_json()
        return created.get_json()["job_id"]

    def job(job_id, key):
        return client.get(f"/api/media/{job_id}/", headers={"Authorization": f"Bearer {key}"}).get_json()

    with pipeline_runtime(settings, worker_threads=2):
        waiting, running = submit(busy_key), submit(other_key)
        wait_for(lambda: job(running, other_key)["status"] == "done", timeout=90, message="the other tenant's job")
        held = job(waiting, busy_key)
        slots.release(busy.id, "a-long-transcode-elsewhere")
        wait_for(lambda: job(waiting, busy_key)["status"] == "done", timeout=90, message="the capped job")

    assert held["status"] == "queued" and held["steps"]["convert"]["deliveries"] == 0
    assert slots.holders(busy.id) == []
