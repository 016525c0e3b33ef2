"""Cancel stops running work and removes what was written."""

from __future__ import annotations

import io
import uuid

import pytest

from shared.jobs.service import work_dir
from shared.storage import get_default_storage
from tests.support.media import h264_mp4
from tests.support.runtime import pipeline_runtime, wait_for
from tests.workers.test_crash_safety import ffmpeg_processes_in


@pytest.mark.slow
def test_cancel_kills_the_running_convert_and_removes_outputs(client, settings, tmp_path):
    source = h264_mp4(tmp_path / "long.mp4", seconds=20, size="1280x720", audio=False)
    with pipeline_runtime(settings):
        job_id = client.post("/api/media/", data={"file": (io.BytesIO(source.read_bytes()), "long.mp4")}
                             ).get_json()["job_id"]
        directory = work_dir(settings, uuid.UUID(job_id))
        wait_for(lambda: ffmpeg_processes_in(directory), timeout=60, message="ffmpeg to start")

        canceled = client.post(f"/api/media/{job_id}/cancel/")
        assert canceled.status_code == 200 and canceled.get_json()["status"] == "canceled"

        wait_for(lambda: not ffmpeg_processes_in(directory), timeout=10, message="ffmpeg to be killed")
        storage = get_default_storage(settings)
        wait_for(lambda: [o.key for o in storage.list(f"media/{job_id}/")] == [f"media/{job_id}/source.mp4"],
                 timeout=10, message="outputs to be removed (the source stays for a retry)")
        wait_for(lambda: not (directory / "run-1").exists(), timeout=10, message="work folder to be removed")
    job = client.get(f"/api/media/{job_id}/").get_json()
    assert job["status"] == "canceled" and job["result_urls"] == {}
    again = client.post(f"/api/media/{job_id}/cancel/")
    assert again.status_code == 200  # canceling twice is harmless


def test_cancel_after_upload_removes_the_uploaded_outputs_and_keeps_the_source(client, settings, db):
    from shared.jobs import steps
    from shared.jobs.service import cancel_job
    from shared.tenants.models import DEFAULT_TENANT_ID
    from tests.support.media import jpeg_with_orientation_and_gps
    from workers.context import step_context

    job_id = uuid.UUID(client.post("/api/media/", data={"file": (io.BytesIO(jpeg_with_orientation_and_gps(64, 48)),
                                                                 "a.jpg")}).get_json()["job_id"])
    ctx = step_context()
    assert steps.run_step(ctx, job_id, "convert", 1) and steps.run_step(ctx, job_id, "upload", 1)
    storage = get_default_storage(settings)
    assert len(list(storage.list(f"media/{job_id}/"))) == 7  # source + 6 outputs

    cancel_job(db, DEFAULT_TENANT_ID, job_id)
    assert steps.run_step(ctx, job_id, "persist", 1) is False  # no transition to done after a cancel
    assert steps.cleanup_canceled(ctx, job_id) == 6
    assert [o.key for o in storage.list(f"media/{job_id}/")] == [f"media/{job_id}/source.jpg"]


@pytest.mark.slow
def test_a_retry_right_after_a_cancel_stops_the_old_run_and_finishes_once(client, settings, db, tmp_path):
    source = h264_mp4(tmp_path / "long.mp4", seconds=12, size="1280x720", audio=False)
    with pipeline_runtime(settings):
        job_id = client.post("/api/media/", data={"file": (io.BytesIO(source.read_bytes()), "long.mp4")}
                             ).get_json()["job_id"]
        directory = work_dir(settings, uuid.UUID(job_id))
        first = wait_for(lambda: ffmpeg_processes_in(directory), timeout=60, message="ffmpeg to start")[0]
        assert client.post(f"/api/media/{job_id}/cancel/").status_code == 200
        retried = client.post(f"/api/media/{job_id}/retry/")
        assert retried.status_code == 200 and retried.get_json()["attempts"] == 2
        wait_for(lambda: not first.is_running(), timeout=10, message="the first run's ffmpeg to stop")

        def finished():
            job = client.get(f"/api/media/{job_id}/").get_json()
            return job if job["status"] in {"done", "failed"} else None

        job = wait_for(finished, timeout=120, message="the second run to finish")
    assert job["status"] == "done" and job["attempts"] == 2, (job["error"], job["steps"])
    from sqlalchemy import func, select

    from shared.events.models import OutboxEvent

    with db.session() as session:
        done = session.scalar(select(func.count()).where(OutboxEvent.aggregate_id == job_id,
                                                         OutboxEvent.type == "job.done"))
    assert done == 1
