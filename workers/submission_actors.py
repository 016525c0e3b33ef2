"""The paid pipeline of submissions and the payment checks (thin actors over shared/submissions)."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import dramatiq

from shared.events.streams import Event
from shared.payments.chain import chain_from_settings
from shared.payments.verify import Pending
from shared.settings import get_settings
from shared.storage import get_default_storage
from shared.submissions import pipeline
from shared.submissions.service import SubmissionContext, check_payment
from workers.broker import broker

log = logging.getLogger(__name__)

_STEP_OPTIONS: dict[str, Any] = {"on_retry_exhausted": "submission_step_exhausted"}


@lru_cache(maxsize=1)
def submission_context() -> SubmissionContext:
    from shared.db import get_database

    settings = get_settings()
    return SubmissionContext(db=get_database(settings), settings=settings,
                             chain=lambda: chain_from_settings(settings),
                             storage=lambda: get_default_storage(settings))


@dramatiq.actor(broker=broker, queue_name="video", **_STEP_OPTIONS)
def convert_submission(submission_id: str, run: int) -> None:
    pipeline.run_step(submission_context(), submission_id, "convert", run)


@dramatiq.actor(broker=broker, queue_name="video", **_STEP_OPTIONS)
def preview_submission(submission_id: str, run: int) -> None:
    pipeline.run_step(submission_context(), submission_id, "preview", run)


@dramatiq.actor(broker=broker, queue_name="media", **_STEP_OPTIONS)
def upload_submission(submission_id: str, run: int) -> None:
    pipeline.run_step(submission_context(), submission_id, "upload", run)


@dramatiq.actor(broker=broker, queue_name="media", **_STEP_OPTIONS)
def persist_submission(submission_id: str, run: int) -> None:
    pipeline.run_step(submission_context(), submission_id, "persist", run)


@dramatiq.actor(broker=broker, queue_name="light", max_retries=10)
def submission_step_exhausted(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    """Fail the submission whose step kept failing with transient errors."""
    submission_id, run = message["args"][0], message["args"][1]
    pipeline.fail_submission(submission_context(), submission_id, "retries_exhausted",
                             f"{message['actor_name']} failed {retry_info.get('retries')} times", run=run)


@dramatiq.actor(broker=broker, queue_name="light", max_retries=3)
def check_submission_payment(submission_id: str) -> None:
    """Check a pending payment; while it stays pending, look again after PAYMENT_RECHECK_SECONDS."""
    ctx = submission_context()
    outcome = check_payment(ctx, submission_id)
    if isinstance(outcome, Pending):
        check_submission_payment.send_with_options(
            args=(submission_id,), delay=int(ctx.settings.PAYMENT_RECHECK_SECONDS * 1000))


PIPELINE = (convert_submission, preview_submission, upload_submission, persist_submission)


def start_submission_pipeline(submission_id: str, run: int) -> None:
    messages = [actor.message_with_options(args=(submission_id, run), pipe_ignore=True) for actor in PIPELINE]
    dramatiq.pipeline(messages, broker=broker).run()


def on_payment_confirmed(event: Event) -> None:
    start_submission_pipeline(event.payload["submission_id"], int(event.payload["run"]))


def on_payment_pending(event: Event) -> None:
    check_submission_payment.send_with_options(
        args=(event.payload["submission_id"],),
        delay=int(submission_context().settings.PAYMENT_RECHECK_SECONDS * 1000))
