"""Thin actors: ids in, the plain step function does the work. Pipeline steps come from tables."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq import Actor

from shared.jobs import steps
from shared.uploads import tus
from shared.webhooks import service as webhooks
from workers.broker import broker
from workers.concurrency import TenantOf, media_job_tenant
from workers.context import step_context, webhook_context

log = logging.getLogger(__name__)

RunStep = Callable[[str, str, int], object]  # (row id, step, run): runs one step of a pipeline


@dataclass(frozen=True)
class StepActor:
    """One row of a pipeline's actor table."""

    name: str  # the Dramatiq actor name (messages in flight carry it: never rename)
    queue: str
    step: str
    # The tenant of a message for the per-tenant video cap (workers/concurrency.py); None: uncapped.
    tenant_cap: TenantOf | None = None


def build_step_actors(table: tuple[StepActor, ...], run_step: RunStep, exhausted: str) -> dict[str, Actor]:
    """Declare one thin actor per row: ``(row_id, run)`` in, ``run_step`` does the work.

    Permanent errors are never retried, for every actor (workers.broker.PermanentAwareRetries);
    ``exhausted`` fails the row once a step's transient retries run out.
    """
    return {row.name: _step_actor(row, run_step, exhausted) for row in table}


def _step_actor(row: StepActor, run_step: RunStep, exhausted: str) -> Actor:
    def perform(row_id: str, run: int) -> None:
        run_step(row_id, row.step, run)

    perform.__name__ = perform.__qualname__ = row.name
    options: dict[str, Any] = {"on_retry_exhausted": exhausted}
    if row.tenant_cap is not None:
        options["tenant_cap"] = row.tenant_cap
    return dramatiq.actor(perform, actor_name=row.name, broker=broker, queue_name=row.queue, **options)


# Video steps are heavy: the video pool, capped per tenant. Image presets are quick and
# memory-light: they run on the media pool so an avatar never waits behind a long transcode.
MEDIA_STEPS = (
    StepActor("convert_video", "video", "convert", tenant_cap=media_job_tenant),
    StepActor("preview_video", "video", "preview", tenant_cap=media_job_tenant),
    StepActor("convert_image", "media", "convert"),
    StepActor("upload_outputs", "media", "upload"),
    StepActor("persist_job", "media", "persist"),
)
STEP_ACTORS = build_step_actors(
    MEDIA_STEPS, lambda job_id, step, run: steps.run_step(step_context(), job_id, step, run), "step_exhausted")


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


@dramatiq.actor(broker=broker, queue_name="media", max_retries=10, on_retry_exhausted="tus_upload_exhausted")
def finish_tus_upload(upload_id: str) -> None:
    """Hash, probe and keep a resumable upload whose bytes are all in (idempotent; shared.uploads.tus.finish)."""
    context = step_context()
    tus.finish(context.db, context.settings, uuid.UUID(upload_id), storages=context.storages)


@dramatiq.actor(broker=broker, queue_name="light", max_retries=10)
def tus_upload_exhausted(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    """Fail the resumable upload whose finishing kept failing with transient errors (the client sends it again)."""
    context = step_context()
    tus.give_up(context.db, context.settings, uuid.UUID(message["args"][0]),
                f"finishing failed {retry_info.get('retries')} times")


@dramatiq.actor(broker=broker, queue_name="light", max_retries=10)
def recheck_hashtags(version: int) -> None:
    """Re-check stored hashtags after the lexicon changed (idempotent; ``version`` is informative)."""
    from shared.moderation.check import recheck_hashtags as recheck

    counts = recheck(step_context().db)
    log.info("hashtags re-checked after lexicon version %s: %s", version, counts)


PIPELINES = {
    "image": tuple(STEP_ACTORS[name] for name in ("convert_image", "upload_outputs", "persist_job")),
    "video": tuple(STEP_ACTORS[name] for name in ("convert_video", "preview_video", "upload_outputs", "persist_job")),
}


def start_pipeline(job_id: str, kind: str, run: int) -> None:
    """Enqueue the job's steps as one Dramatiq pipeline."""
    messages = [actor.message_with_options(args=(job_id, run), pipe_ignore=True) for actor in PIPELINES[kind]]
    dramatiq.pipeline(messages, broker=broker).run()
