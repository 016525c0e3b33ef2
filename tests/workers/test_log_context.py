"""The request's ids travel with its work: HTTP -> outbox -> stream -> dispatcher -> message -> actor."""

from __future__ import annotations

import io

from shared.events.models import OutboxEvent
from tests.support.logs import captured_logs
from tests.support.media import png_bytes
from tests.support.runtime import pipeline_runtime, wait_for


def test_a_requests_request_id_appears_in_the_log_lines_of_the_actors_that_processed_its_job(client, db, settings):
    with captured_logs(settings) as logs, pipeline_runtime(settings, queues=("media", "light"), worker_threads=2):
        created = client.post("/api/media/", data={"file": (io.BytesIO(png_bytes(320, 240)), "a.png")},
                              headers={"X-Request-ID": "req-4f2a9c"})
        assert created.status_code == 201
        job_id = created.get_json()["job_id"]
        wait_for(lambda: client.get(f"/api/media/{job_id}/").get_json()["status"] == "done", timeout=30,
                 message="the job to finish")

    assert created.headers["X-Request-ID"] == "req-4f2a9c"
    lines = logs.lines()
    request_line = [line for line in lines if line.get("route") == "/api/media/" and line.get("method") == "POST"]
    assert request_line and request_line[0]["request_id"] == "req-4f2a9c" and request_line[0]["status"] == 201
    for actor in ("convert_image", "upload_outputs", "persist_job"):
        actor_lines = [line for line in lines if line.get("actor") == actor]
        assert len(actor_lines) >= 2, (actor, lines)  # started, success
        for line in actor_lines:
            assert line["request_id"] == "req-4f2a9c", line
            assert line["job_id"] == job_id and line["event_id"], line
            assert line["process"] == "test" and line["level"] in ("info", "warning") and "ts" in line
    assert any(line["event"] == "task success: persist_job" for line in lines)

    with db.session() as session:
        done = session.query(OutboxEvent).filter(OutboxEvent.type == "job.done").one()
    # Events recorded inside the actor carry the request on to their own consumers.
    assert done.log_context["request_id"] == "req-4f2a9c" and done.log_context["job_id"] == job_id


def test_an_unusable_request_id_header_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "no spaces or <tags> allowed"})
    assert response.headers["X-Request-ID"] != "no spaces or <tags> allowed"
    assert len(response.headers["X-Request-ID"]) == 32
