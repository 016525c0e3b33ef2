"""The sweep-pipelines task: a media job, paid submission or tus upload whose pipeline message Redis
lost is sent again, and only such a row.

Real PostgreSQL, Redis and Dramatiq worker. A lost message is made by dropping one enqueue (as a
Redis that crashed before its AOF reached the disk would) or by deleting the broker's keys.
"""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

from sqlalchemy import update

from shared.db import utcnow
from shared.jobs.models import MediaJob
from shared.ops import queues
from shared.ops.lost_pipelines import JOBS, TUS_UPLOADS, event_path_behind, restart_lost
from shared.ops.tasks import TASKS, QueueSenders, build_context
from shared.pipeline.ledger import fresh_steps
from shared.submissions.models import PIPELINE_STEPS, Submission
from shared.uploads import tus
from shared.uploads.models import TusUpload
from tests.api.test_media_tus import OCTETS, create, upload_id_of
from tests.support.media import jpeg_with_orientation_and_gps, png_bytes
from tests.support.runtime import pipeline_runtime, wait_for
from tests.support.submissions import add_paid_submission
from tests.workers.test_handoff_outage import job_done_events
from workers.actors import finish_tus_upload, start_pipeline
from workers.broker import broker
from workers.submission_actors import STEP_ACTORS as SUBMISSION_ACTORS


class DroppedEnqueue:
    """Let the broker's enqueue of ``actor_name`` vanish once, as if Redis lost the message."""

    def __init__(self, monkeypatch, actor_name: str):
        self.actor_name, self.dropped = actor_name, 0
        self.enqueue = broker.enqueue
        monkeypatch.setattr(broker, "enqueue", self)

    def __call__(self, message, *, delay=None):
        if message.actor_name == self.actor_name and not self.dropped:
            self.dropped += 1
            return message
        return self.enqueue(message, delay=delay)


def post_image(client) -> str:
    created = client.post("/api/media/", data={"file": (io.BytesIO(jpeg_with_orientation_and_gps(64, 48)), "a.jpg")})
    assert created.status_code == 201, created.get_json()
    return created.get_json()["job_id"]


def loaded(db, model, row_id):
    """The row as committed now, detached."""
    with db.session() as session:
        row = session.get(model, row_id)
        session.expunge(row)
    return row


def untouched_for(db, row_id: str, seconds: float, model=MediaJob) -> None:
    with db.session() as session:
        session.execute(update(model).where(model.id == row_id)
                        .values(updated_at=utcnow() - timedelta(seconds=seconds)))


class Recorder:
    def __init__(self):
        self.sent: list[tuple[str, str, int]] = []

    def __call__(self, *args) -> None:
        self.sent.append(args)


def test_a_job_whose_next_step_was_lost_is_sent_again_and_ends_done_once(client, settings, db, redis_client,
                                                                         monkeypatch):
    dropped = DroppedEnqueue(monkeypatch, "upload_outputs")
    with pipeline_runtime(settings):
        job_id = post_image(client)
        wait_for(lambda: dropped.dropped and loaded(db, MediaJob, job_id).steps.get("convert", {}).get("state") == "done"
                 and job_id not in queues.ids_in_broker(redis_client, ("media",)),
                 timeout=30, message="convert done and its hand-off lost")
        assert loaded(db, MediaJob, job_id).status == "processing"

        # Touched lately: a step may still be on its way, nothing is sent.
        assert restart_lost(db, settings, redis_client, [(JOBS, start_pipeline)])["jobs_restarted"] == 0

        untouched_for(db, job_id, settings.PIPELINE_SWEEP_AFTER_SECONDS + 60)
        assert restart_lost(db, settings, redis_client, [(JOBS, start_pipeline)]) == {
            "jobs_restarted": 1, "jobs_waiting_on_events": 0}
        wait_for(lambda: loaded(db, MediaJob, job_id).status in ("done", "failed"), timeout=30, message="the job to end")

    row = loaded(db, MediaJob, job_id)
    assert row.status == "done", (row.error_code, row.error_message)
    # convert was not run again: its second message found it done.
    assert row.steps["convert"]["deliveries"] == 1 and row.steps["upload"]["deliveries"] == 1
    assert job_done_events(db, job_id) == 1


def test_a_job_whose_message_the_broker_still_holds_is_left_alone_until_that_message_is_lost(
        client, settings, db, redis_client):
    with pipeline_runtime(settings, queues=()):  # relay and dispatcher: the first step waits, unconsumed
        job_id = post_image(client)
        wait_for(lambda: job_id in queues.ids_in_broker(redis_client, ("media",)), timeout=30,
                 message="the job's first step in the broker")
        untouched_for(db, job_id, settings.PIPELINE_SWEEP_AFTER_SECONDS + 60)
        start = Recorder()

        # A backlog or a slow worker: the message is there, the job is not sent twice.
        assert restart_lost(db, settings, redis_client, [(JOBS, start)])["jobs_restarted"] == 0
        assert start.sent == []

        for key in redis_client.scan_iter(f"{queues.NAMESPACE}:media*"):
            redis_client.delete(key)
        assert restart_lost(db, settings, redis_client, [(JOBS, start)])["jobs_restarted"] == 1
        assert start.sent == [(job_id, "image", 1)]


def test_a_queued_job_waits_for_its_event_while_the_outbox_is_behind(client, settings, db, redis_client):
    job_id = post_image(client)  # no relay: job.queued stays in the outbox
    untouched_for(db, job_id, settings.PIPELINE_SWEEP_AFTER_SECONDS + 60)
    start = Recorder()

    assert restart_lost(db, settings, redis_client, [(JOBS, start)]) == {"jobs_restarted": 0,
                                                                        "jobs_waiting_on_events": 1}
    assert start.sent == []


def processing_submission(db, run: int) -> str:
    """A paid submission in its ``run``, converted, whose next step's message is nowhere."""
    steps = {**fresh_steps(PIPELINE_STEPS), "convert": {"state": "done", "deliveries": 1}}
    return str(add_paid_submission(db, status="processing", run=run, steps=steps))


def test_a_paid_submission_whose_message_was_lost_is_sent_again_by_the_task_with_its_run(settings, db,
                                                                                         redis_client):
    submission_id = processing_submission(db, run=2)
    jobs, submissions = Recorder(), Recorder()
    ctx = build_context(settings, db, senders=QueueSenders(deliver_webhook=Recorder(), check_payment=Recorder(),
                                                           start_job=jobs, start_submission=submissions,
                                                           finish_upload=Recorder()))
    sweep = TASKS["sweep-pipelines"]

    assert sweep.run(ctx, {})["submissions_restarted"] == 0  # touched lately
    untouched_for(db, submission_id, settings.PIPELINE_SWEEP_AFTER_SECONDS + 60, Submission)
    SUBMISSION_ACTORS["preview_submission"].send(submission_id, 2)  # no worker: it waits in the video queue
    assert sweep.run(ctx, {})["submissions_restarted"] == 0 and submissions.sent == []

    for key in redis_client.scan_iter(f"{queues.NAMESPACE}:video*"):
        redis_client.delete(key)
    assert sweep.run(ctx, {}) == {"jobs_restarted": 0, "jobs_waiting_on_events": 0,
                                  "submissions_restarted": 1, "submissions_waiting_on_events": 0,
                                  "tus_uploads_restarted": 0, "tus_uploads_waiting_on_events": 0}
    assert submissions.sent == [(submission_id, 2)] and jobs.sent == []


def test_a_tus_upload_whose_finish_message_was_lost_is_finished_by_the_sweep(client, settings, db, redis_client,
                                                                             monkeypatch):
    image = png_bytes(90, 60)
    location = create(client, {}, len(image), filetype="image/png").headers["Location"]
    upload_id = upload_id_of(location)
    dropped = DroppedEnqueue(monkeypatch, "finish_tus_upload")
    with pipeline_runtime(settings, queues=("media", "light")):
        patched = client.patch(location, data=image, headers={**OCTETS, "Upload-Offset": "0"})
        assert patched.status_code == 204, patched.data
        wait_for(lambda: dropped.dropped and not event_path_behind(db, redis_client), timeout=30,
                 message="upload.assembled dispatched and its message lost")
        assert loaded(db, TusUpload, upload_id).status == tus.COMPLETING

        # Completed lately: its finish may still be on its way, nothing is sent.
        assert restart_lost(db, settings, redis_client, [(TUS_UPLOADS, finish_tus_upload.send)]) == {
            "tus_uploads_restarted": 0, "tus_uploads_waiting_on_events": 0}
        untouched_for(db, upload_id, settings.PIPELINE_SWEEP_AFTER_SECONDS + 60, TusUpload)
        assert restart_lost(db, settings, redis_client, [(TUS_UPLOADS, finish_tus_upload.send)]) == {
            "tus_uploads_restarted": 1, "tus_uploads_waiting_on_events": 0}
        wait_for(lambda: loaded(db, TusUpload, upload_id).status != tus.COMPLETING, timeout=30,
                 message="the upload finished")

    finished = loaded(db, TusUpload, upload_id)
    assert finished.status == tus.DONE and finished.job_id is not None
    assert loaded(db, MediaJob, finished.job_id).sha256 == hashlib.sha256(image).hexdigest()
