"""Ops work on the light queue: a requested run of an ops task (see shared/ops/runs.py)."""

from __future__ import annotations

from functools import lru_cache

import dramatiq

from shared.events.streams import Event
from shared.ops.runs import execute_run
from shared.ops.tasks import OpsContext, QueueSenders, build_context
from shared.settings import get_settings
from workers.actors import deliver_webhook, finish_tus_upload, start_pipeline
from workers.broker import broker
from workers.submission_actors import check_submission_payment, start_submission_pipeline


@lru_cache(maxsize=1)
def ops_context() -> OpsContext:
    # The sweeps enqueue through these actors: shared names no worker module.
    senders = QueueSenders(deliver_webhook=deliver_webhook.send, check_payment=check_submission_payment.send,
                           start_job=start_pipeline, start_submission=start_submission_pipeline,
                           finish_upload=finish_tus_upload.send)
    return build_context(get_settings(), senders=senders)


# A run records its own failure (only database errors are retried); a redelivery after a
# killed worker runs it again, at most shared.ops.runs.MAX_DELIVERIES times.
@dramatiq.actor(broker=broker, queue_name="light", time_limit=6 * 60 * 60 * 1000)
def run_ops_task(run_id: str) -> None:
    execute_run(ops_context(), run_id)


def on_ops_run_requested(event: Event) -> None:
    run_ops_task.send(event.payload["run_id"])
