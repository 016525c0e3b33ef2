"""/metrics: samples of every process of the host, plus gauges read at scrape time."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.support.media import png_bytes
from tests.support.runtime import pipeline_runtime, wait_for

ROOT = Path(__file__).resolve().parents[2]


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_show_generation_upload_and_task_samples_recorded_in_a_worker_process(client, settings, tmp_path):
    before = scrape(client)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([sys.executable, "-m", "workers", "worker", "media"], cwd=ROOT, env=dict(os.environ),
                              stdout=log, stderr=log)
    try:
        # Relay and dispatcher run here; every step of an image job runs in the child process.
        with pipeline_runtime(settings, queues=()):
            created = client.post("/api/media/", data={"file": (io.BytesIO(png_bytes(640, 480)), "a.png")})
            assert created.status_code == 201
            job_id = created.get_json()["job_id"]
            wait_for(lambda: client.get(f"/api/media/{job_id}/").get_json()["status"] == "done", timeout=60,
                     message="the job to finish in the worker process")
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()

    after = scrape(client)

    def grew(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("thumbnail_generation_total", media_type="image", status="success") == 1
    assert grew("thumbnail_generation_duration_seconds_count", media_type="image", status="success") == 1
    assert grew("thumbnail_upload_total", provider="local", status="success") == 6  # 3 sizes x JPEG + WebP
    assert grew("thumbnail_upload_duration_seconds_count", provider="local", status="success") == 6
    for actor in ("convert_image", "upload_outputs", "persist_job"):
        assert grew("thumbnail_task_execution_total", actor=actor, status="success") == 1, actor
        assert grew("thumbnail_task_execution_duration_seconds_count", actor=actor, status="success") == 1
    # The samples came from the child's own file in the host's folder (named <host>-<pid>).
    assert list(Path(settings.PROMETHEUS_MULTIPROC_DIR).glob(f"*-{worker.pid}.db"))
    assert grew("showreel_http_requests_total", method="POST", route="/api/media/", status="201") == 1

    # Read at scrape time from Redis and the database.
    assert ("showreel_queue_messages", (("queue", "media"), ("state", "ready"))) in after
    assert ("showreel_outbox_backlog", ()) in after and ("showreel_outbox_oldest_age_seconds", ()) in after
    assert value(after, "showreel_dependency_up", dependency="redis") == 1
    assert ("showreel_stream_pending", (("group", "dispatcher"), ("stream", "events:jobs"))) in after
    assert ("showreel_webhook_deliveries_backlog", (("status", "pending"),)) in after


def test_metrics_stay_up_and_say_so_when_redis_is_down(db, redis_client, settings):
    from api.app import create_app

    client = create_app(settings.replace(REDIS_URL="redis://127.0.0.1:1/0")).test_client()
    samples = scrape(client)
    assert value(samples, "showreel_dependency_up", dependency="redis") == 0
    assert value(samples, "showreel_dependency_up", dependency="database") == 1


def test_metrics_can_require_the_ops_token(db, redis_client, settings):
    from api.app import create_app

    client = create_app(settings.replace(METRICS_REQUIRE_TOKEN=True, OPS_TOKEN="metrics-ops-token-0123456789abcdef")).test_client()
    assert client.get("/metrics").get_json()["code"] == "ops_token_required"
    assert client.get("/metrics", headers={"Authorization": "Bearer metrics-ops-token-0123456789abcdef"}).status_code == 200
