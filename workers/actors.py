"""Thin actors: ids in, the plain step function does the work."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq

from shared.jobs import steps
from shared.webhooks import service as webhooks
from workers.broker import broker
from workers.context import step_context, webhook_context

log = logging.getLogger(__name__)

# Permanent errors are never retried, for every actor (workers.broker.PermanentAwareRetries).
_STEP_OPTIONS: dict[str, Any] = {"on_retry_exhausted": "step_exhausted"}


@dramatiq.actor(broker=broker, queue_name="video", **_STEP_OPTIONS)
def convert_video(job_id: str, run: int) -> None:
    steps.run_step(step_context(), job_id, "convert", run)


@dramatiq.actor(broker=broker, queue_name="video", **_STEP_OPTIONS)
def preview_video(job_id: str, run: int) -> None:
    steps.run_step(step_context(), job_id, "preview", run)


# Image presets are quick and memory-light: they run on the media pool so an
# avatar never waits behind a long transcode.
@dramatiq.actor(broker=broker, queue_name="media", **_STEP_OPTIONS)
def convert_image(job_id: str, run: int) -> None:
    steps.run_step(step_context(), job_id, "convert", run)


@dramatiq.actor(broker=broker, queue_name="media", **_STEP_OPTIONS)
def upload_outputs(job_id: str, run: int) -> None:
    steps.run_step(step_context(), job_id, "upload", run)


@dramatiq.actor(broker=broker, queue_name="media", **_STEP_OPTIONS)
def persist_job(job_id: str, run: int) -> None:
    steps.run_step(step_context(), job_id, "persist", run)


@dramatiq.actor(broker=broker, queue_name="light", max_retries=10)
def cleanup_job(job_id: str) -> None:
    steps.cleanup_canceled(step_context(), job_id)


@dramatiq.actor(broker=broker, queue_name="light", max_retries=10)
def step_exhausted(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    """Fail the job whose step kept failing with transient errors (the source is kept for a retry)."""
    job_id, run = message["args"][0], message["args"][1] if len(message["args"]) > 1 else None
    steps.fail_job(step_context(), job_id, "retries_exhausted",
                   f"{message['actor_name']} failed {retry_info.get('retries')} times", retryable=True, run=run)


@dramatiq.actor(broker=broker, queue_name="light", max_retries=5)
def webhook_for_event(event_id: str, event_type: str, job_id: str) -> None:
    """Record the webhook delivery of a job event (once per event) and make its first attempt."""
    delivery = webhooks.deliveries_for_event(webhook_context(), event_id, event_type, job_id)
    if delivery is not None:
        deliver_webhook(str(delivery.id), delivery.round, delivery.attempts + 1)


@dramatiq.actor(broker=broker, queue_name="light", max_retries=5)
def deliver_webhook(delivery_id: str, round_: int, attempt: int) -> None:
    """Make one due attempt of a webhook delivery and schedule the next one when it failed."""
    outcome = webhooks.attempt_delivery(webhook_context(), delivery_id, round_, attempt)
    if outcome.next_attempt is not None:
        deliver_webhook.send_with_options(args=(delivery_id, round_, outcome.next_attempt),
                                          delay=max(0, int(outcome.delay_seconds * 1000)))


@dramatiq.actor(broker=broker, queue_name="light", max_retries=0)
def sweep_webhooks() -> None:
    """Send again the attempts whose delayed message was lost (run it every few minutes)."""
    resend_lost_webhooks(None, {})


def resend_lost_webhooks(_ctx: Any, _params: dict[str, Any]) -> dict[str, Any]:
    """The ``sweep-webhooks`` ops task: re-send attempts whose message was lost or whose sender died."""
    due = webhooks.due_attempts(webhook_context())
    for delivery_id, round_, attempt in due:
        deliver_webhook.send(str(delivery_id), round_, attempt)
    return {"resent": len(due)}


@dramatiq.actor(broker=broker, queue_name="light", max_retries=10)
def recheck_hashtags(version: int) -> None:
    """Re-check stored hashtags after the lexicon changed (idempotent; ``version`` is informative)."""
    from shared.moderation.service import recheck_hashtags as recheck

    counts = recheck(step_context().db)
    log.info("hashtags re-checked after lexicon version %s: %s", version, counts)


PIPELINES = {
    "image": (convert_image, upload_outputs, persist_job),
    "video": (convert_video, preview_video, upload_outputs, persist_job),
}


def start_pipeline(job_id: str, kind: str, run: int) -> None:
    """Enqueue the job's steps as one Dramatiq pipeline."""
    messages = [actor.message_with_options(args=(job_id, run), pipe_ignore=True) for actor in PIPELINES[kind]]
    dramatiq.pipeline(messages, broker=broker).run()
