"""Event type -> what the dispatcher does with it."""

from __future__ import annotations

from shared.events.streams import Event
from workers import actors
from workers.ops_actors import on_ops_run_requested
from workers.submission_actors import on_payment_pending, on_pipeline_requested


def on_job_queued(event: Event) -> None:
    actors.start_pipeline(event.payload["job_id"], event.payload["kind"], int(event.payload.get("run", 1)))


def on_job_canceled(event: Event) -> None:
    actors.cleanup_job.send(event.payload["job_id"])


def on_job_finished(event: Event) -> None:
    actors.webhook_for_event.send(event.event_id, event.type, event.payload["job_id"])


def on_webhook_redelivery(event: Event) -> None:
    actors.deliver_webhook.send(event.payload["delivery_id"], int(event.payload["round"]), 1)


def on_upload_assembled(event: Event) -> None:
    actors.finish_tus_upload.send(event.payload["upload_id"])


def on_lexicon_changed(event: Event) -> None:
    actors.recheck_hashtags.send(int(event.payload["version"]))


HANDLERS = {
    "job.queued": on_job_queued,
    "ops.run_requested": on_ops_run_requested,
    "job.canceled": on_job_canceled,
    "job.done": on_job_finished,
    "job.failed": on_job_finished,
    "job.webhook_redelivery": on_webhook_redelivery,
    "moderation.lexicon_changed": on_lexicon_changed,
    "payment.confirmed": on_pipeline_requested,
    "submission.retried": on_pipeline_requested,
    "payment.pending": on_payment_pending,
    "upload.assembled": on_upload_assembled,
}
