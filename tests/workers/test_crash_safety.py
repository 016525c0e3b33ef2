"""A worker SIGKILLed in the middle of a convert: the job still ends done, exactly once."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, select

from shared.events.models import OutboxEvent
from shared.jobs.service import work_dir
from shared.storage import get_default_storage
from tests.support.media import h264_mp4
from tests.support.runtime import pipeline_runtime, wait_for

ROOT = Path(__file__).resolve().parents[2]


def start_video_worker() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "workers", "worker", "video"], cwd=ROOT, env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ffmpeg_processes_in(directory: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cwd"]):
        try:
            cwd = process.info["cwd"] or ""
            if "ffmpeg" in (process.info["name"] or "") and (cwd + os.sep).startswith(str(directory) + os.sep):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.mark.slow
def test_sigkilled_video_worker_still_finishes_the_job_once(client, settings, db, tmp_path):
    source = h264_mp4(tmp_path / "long.mp4", seconds=20, size="1280x720", audio=True)
    worker = start_video_worker()
    replacement = None
    try:
        # Relay, dispatcher and the media/light pools run here; the video pool is the child we kill.
        with pipeline_runtime(settings, queues=("media", "light")):
            created = client.post("/api/media/", data={"file": (io.BytesIO(source.read_bytes()), "long.mp4")})
            assert created.status_code == 201, created.get_json()
            job_id = created.get_json()["job_id"]
            directory = work_dir(settings, uuid.UUID(job_id))

            wait_for(lambda: ffmpeg_processes_in(directory), timeout=60,
                     message=f"ffmpeg to start converting: {client.get(f'/api/media/{job_id}/').get_json()}")
            time.sleep(1.0)
            killed_at = time.monotonic()
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            # PR_SET_PDEATHSIG takes the orphaned ffmpeg down with its worker.
            wait_for(lambda: not ffmpeg_processes_in(directory), timeout=10, message="orphan ffmpeg to die")

            replacement = start_video_worker()

            def finished():
                job = client.get(f"/api/media/{job_id}/").get_json()
                return job if job["status"] in {"done", "failed"} else None

            job = wait_for(finished, timeout=90, message="job to finish")
            recovered_in = time.monotonic() - killed_at
    finally:
        for process in (worker, replacement):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)

    assert job["status"] == "done", job
    assert recovered_in < 60, f"took {recovered_in:.1f}s after the kill"
    assert job["steps"]["convert"]["deliveries"] == 2  # the killed run counted
    with db.session() as session:
        transitions = session.execute(
            select(OutboxEvent.type, func.count()).where(OutboxEvent.aggregate_id == job_id)
            .group_by(OutboxEvent.type)).all()
    assert dict(transitions) == {"job.queued": 1, "job.processing": 1, "job.done": 1}
    stored = sorted(obj.key for obj in get_default_storage(settings).list(f"media/{job_id}/"))
    assert stored == [f"media/{job_id}/{name}" for name in ("poster.jpg", "preview.webm", "source.mp4", "webm.webm")]
