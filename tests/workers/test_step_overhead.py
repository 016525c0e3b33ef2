"""What a step costs beyond its work: no second lock after a self-recorded step, a source linked
instead of copied (issue 14 item 2)."""

from __future__ import annotations

import io
import os
import uuid

from shared.jobs import steps
from shared.jobs.models import MediaJob
from shared.jobs.service import run_dir
from shared.pipeline import runner
from shared.storage.providers.local import LocalStorage
from tests.support.media import png_bytes


def new_image_job(client) -> uuid.UUID:
    response = client.post("/api/media/", data={"file": (io.BytesIO(png_bytes(64, 64)), "a.png")})
    assert response.status_code == 201, response.get_json()
    return uuid.UUID(response.get_json()["job_id"])


def test_persist_records_itself_and_the_kernel_takes_no_second_lock(client, db, monkeypatch):
    from workers.context import step_context

    ctx = step_context()
    job_id = new_image_job(client)
    assert steps.run_step(ctx, job_id, "convert", 1)
    assert steps.run_step(ctx, job_id, "upload", 1)
    finished: list[str] = []
    monkeypatch.setattr(runner, "finish_step", lambda adapter, ctx, row_id, step, run, outputs: finished.append(step))

    assert steps.run_step(ctx, job_id, "persist", 1) is True

    assert finished == []
    with db.session() as session:
        job = session.get(MediaJob, job_id)
        assert job.status == "done" and job.steps["persist"] == {"state": "done", "deliveries": 1}


def test_the_source_is_a_hard_link_of_the_stored_object_when_storage_is_this_disk(client, settings):
    from workers.context import step_context

    ctx = step_context()
    job_id = new_image_job(client)
    assert steps.run_step(ctx, job_id, "convert", 1)

    with ctx.db.session() as session:
        job = session.get(MediaJob, job_id)
        stored = ctx.storages(job).local_path(job.source_key)
    source = run_dir(settings, job_id, 1) / "source.png"
    assert os.stat(source).st_ino == os.stat(stored).st_ino
    assert steps.run_step(ctx, job_id, "upload", 1) and steps.run_step(ctx, job_id, "persist", 1)
    assert stored.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # removing the work folder left the object alone


def test_the_source_is_downloaded_when_storage_is_not_this_disk(client, settings, monkeypatch):
    from workers.context import step_context

    ctx = step_context()
    job_id = new_image_job(client)
    monkeypatch.setattr(LocalStorage, "local_path", lambda self, key: None)

    assert steps.run_step(ctx, job_id, "convert", 1)

    source = run_dir(settings, job_id, 1) / "source.png"
    assert source.is_file() and os.stat(source).st_nlink == 1
