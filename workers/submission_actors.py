"""The paid pipeline of submissions and the payment checks (thin actors over shared/submissions)."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import dramatiq

from shared.db import get_database
from shared.events.streams import Event
from shared.payments.chain import chain_from_settings
from shared.payments.verify import Pending
from shared.settings import get_settings
from shared.storage import get_default_storage
from shared.submissions import pipeline
from shared.submissions.payment import (
    check_payment,
    claim_payment_checker,
    is_payment_checker,
    next_check_delay,
)
from shared.submissions.service import SubmissionContext
from workers.actors import StepActor, build_step_actors
from workers.broker import broker

log = logging.getLogger(__name__)

@lru_cache(maxsize=1)
def submission_context() -> SubmissionContext:
    settings = get_settings()
    return SubmissionContext(db=get_database(settings), settings=settings,
                             chain=lambda: chain_from_settings(settings),
                             storage=lambda: get_default_storage(settings))


# No ``tenant_cap``: submissions are uncapped by design. They are paid, one wallet's uploads
# are bounded by the upload quotas, and they belong to no tenant (the cap is per tenant).
SUBMISSION_STEPS = (
    StepActor("convert_submission", "video", "convert"),
    StepActor("preview_submission", "video", "preview"),
    StepActor("upload_submission", "media", "upload"),
    StepActor("persist_submission", "media", "persist"),
)
STEP_ACTORS = build_step_actors(
    SUBMISSION_STEPS, lambda submission_id, step, run: pipeline.run_step(submission_context(), submission_id, step, run),
    "submission_step_exhausted")


@dramatiq.actor(broker=broker, queue_name="light", max_retries=10)
def submission_step_exhausted(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    """Fail the submission whose step kept failing with transient errors."""
    submission_id, run = message["args"][0], message["args"][1]
    pipeline.fail_submission(submission_context(), submission_id, "retries_exhausted",
                             f"{message['actor_name']} failed {retry_info.get('retries')} times", run=run)


@dramatiq.actor(broker=broker, queue_name="light", max_retries=3)
def check_submission_payment(submission_id: str, checker: str | None = None) -> None:
    """Check a pending payment; while it stays pending, look again later (PAYMENT_RECHECK_SECONDS, doubling
    while nothing changes, up to PAYMENT_RECHECK_MAX_SECONDS). A message of a replaced checker (see ``claim_payment_checker``) stops its chain."""
    ctx = submission_context()
    if checker is not None and not is_payment_checker(ctx.db, submission_id, checker):
        return
    outcome = check_payment(ctx, submission_id)
    if isinstance(outcome, Pending):
        _check_later(ctx, submission_id, checker)


def _check_later(ctx: SubmissionContext, submission_id: str, checker: str | None) -> None:
    delay = next_check_delay(ctx, submission_id)
    check_submission_payment.send_with_options(args=(submission_id, checker), delay=int(delay * 1000))


PIPELINE = tuple(STEP_ACTORS[row.name] for row in SUBMISSION_STEPS)


def start_submission_pipeline(submission_id: str, run: int) -> None:
    messages = [actor.message_with_options(args=(submission_id, run), pipe_ignore=True) for actor in PIPELINE]
    dramatiq.pipeline(messages, broker=broker).run()


def on_pipeline_requested(event: Event) -> None:
    """``payment.confirmed`` and ``submission.retried``: run the pipeline for the event's run."""
    start_submission_pipeline(event.payload["submission_id"], int(event.payload["run"]))


def on_payment_pending(event: Event) -> None:
    ctx = submission_context()
    checker = claim_payment_checker(ctx.db, event.payload["submission_id"])
    if checker is not None:
        _check_later(ctx, event.payload["submission_id"], checker)
