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
        wait_for(lambda: not directory.exists(), timeout=10, message="work folder to be removed")
    job = client.get(f"/api/media/{job_id}/").get_json()
    assert job["status"] == "canceled" and job["result_urls"] == {}
    again = client.post(f"/api/media/{job_id}/cancel/")
    assert again.status_code == 200  # canceling twice is harmless
