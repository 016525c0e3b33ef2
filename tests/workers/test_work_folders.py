"""A job's work folder (TEMP_DIR/jobs/<id>/) is gone once the job reaches a final state."""

from __future__ import annotations

import dataclasses
import io
import uuid

from shared.jobs import steps
from shared.jobs.service import cancel_job, work_dir
from shared.storage import get_default_storage
from shared.tenants.models import DEFAULT_TENANT_ID
from tests.support.media import jpeg_with_orientation_and_gps


def new_image_job(client) -> uuid.UUID:
    data = jpeg_with_orientation_and_gps(64, 48)
    response = client.post("/api/media/", data={"file": (io.BytesIO(data), "a.jpg")})
    assert response.status_code == 201, response.get_json()
    return uuid.UUID(response.get_json()["job_id"])


def test_empty_work_folders_a_failed_job_leaves_no_job_folder(client, settings):
    from workers.context import step_context

    job_id = new_image_job(client)
    # The stored source turns out undecodable (cut short): convert fetches it into the run folder and fails.
    source = f"media/{job_id}/source.jpg"
    storage = get_default_storage(settings)
    whole = jpeg_with_orientation_and_gps(64, 48)
    storage.put_bytes(source, whole[: len(whole) // 2], "image/jpeg")

    assert steps.run_step(step_context(), job_id, "convert", 1) is False

    assert client.get(f"/api/media/{job_id}/").get_json()["status"] == "failed"
    assert not work_dir(settings, job_id).exists()


def test_empty_work_folders_a_canceled_job_leaves_no_job_folder(client, settings, db):
    from workers.context import step_context

    job_id = new_image_job(client)
    ctx = step_context()
    assert steps.run_step(ctx, job_id, "convert", 1)
    assert (work_dir(settings, job_id) / "run-1").is_dir()

    cancel_job(db, DEFAULT_TENANT_ID, job_id)
    assert steps.run_step(ctx, job_id, "upload", 1) is False  # the step sees the cancel and stops
    steps.cleanup_canceled(ctx, job_id)

    assert not work_dir(settings, job_id).exists()


def test_empty_work_folders_a_job_out_of_deliveries_leaves_no_job_folder(client, settings):
    from workers.context import step_context

    job_id = new_image_job(client)
    context = step_context()
    ctx = dataclasses.replace(context, settings=context.settings.replace(STEP_MAX_DELIVERIES=0))
    (work_dir(settings, job_id) / "run-1").mkdir(parents=True)  # left by a worker killed mid-step

    assert steps.begin_step(ctx, job_id, "convert", 1) is None

    assert client.get(f"/api/media/{job_id}/").get_json()["error"]["code"] == "attempts_exhausted"
    assert not work_dir(settings, job_id).exists()


def test_the_folder_of_a_newer_run_survives_the_end_of_an_older_one(settings):
    job_id = uuid.uuid4()
    folder = work_dir(settings, job_id)
    for run in (1, 2, 3):
        (folder / f"run-{run}").mkdir(parents=True)
        (folder / f"run-{run}" / "source.mp4").write_bytes(b"x")

    steps.remove_work_folder(settings, job_id, 2)

    assert sorted(p.name for p in folder.iterdir()) == ["run-3"]
    steps.remove_work_folder(settings, job_id, 3)
    assert not folder.exists()


def test_empty_work_folders_a_submission_out_of_deliveries_leaves_no_work_folder(db, settings):
    from datetime import timedelta

    from shared.db import utcnow
    from shared.submissions import pipeline
    from shared.submissions.models import Submission
    from shared.submissions.service import SubmissionContext

    ctx = SubmissionContext(db=db, settings=settings.replace(STEP_MAX_DELIVERIES=0), chain=None, storage=None)
    with db.session() as session:
        row = Submission(wallet="0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", status="paid",
                         image_upload_id=uuid.uuid4(), video_upload_id=uuid.uuid4(), quote_to="0x" + "1" * 40,
                         quote_amount_wei="1", quote_chain_id=31337, quote_expires_at=utcnow() + timedelta(hours=1),
                         run=1, paid_at=utcnow())
        session.add(row)
        session.flush()
        submission_id = row.id
    folder = pipeline.work_dir(ctx, submission_id)
    folder.mkdir(parents=True)
    (folder / "video-source.mp4").write_bytes(b"left by a worker killed mid-step")

    assert pipeline.begin_step(ctx, submission_id, "convert", 1) is None

    with db.session() as session:
        assert session.get(Submission, submission_id).error_code == "attempts_exhausted"
    assert not folder.exists()


def test_review_server_paths_do_not_leak_through_a_failed_jobs_error_message(client, settings, tmp_path):
    """ffmpeg's stderr may name a work file by its absolute path: the stored message shows none."""
    import os

    from tests.support.media import h264_mp4
    from workers.context import step_context

    video = h264_mp4(tmp_path / "a.mp4", seconds=1.0).read_bytes()
    response = client.post("/api/media/", data={"file": (io.BytesIO(video), "a.mp4")})
    assert response.status_code == 201, response.get_json()
    job_id = uuid.UUID(response.get_json()["job_id"])
    # An ffmpeg that fails the way a real one does on an output it cannot write: naming the file in full.
    ffmpeg = tmp_path / "ffmpeg"
    ffmpeg.write_text('#!/bin/sh\necho "$PWD/webm.webm.part: Permission denied" >&2\nexit 1\n')
    ffmpeg.chmod(0o755)
    context = step_context()
    ctx = dataclasses.replace(context, settings=context.settings.replace(FFMPEG_PATH=str(ffmpeg)))

    assert steps.run_step(ctx, job_id, "convert", 1) is False

    error = client.get(f"/api/media/{job_id}/").get_json()["error"]
    assert error["code"] == "transcode_failed" and "<server path> Permission denied" in error["message"], error
    assert os.path.realpath(settings.TEMP_DIR) not in error["message"] and "/jobs/" not in error["message"]
