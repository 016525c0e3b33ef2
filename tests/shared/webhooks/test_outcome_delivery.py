"""A job's outcome and the delivery of its webhook commit together, so a lost first message is swept up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from shared.db import utcnow
from shared.events.models import OutboxEvent
from shared.jobs import steps
from shared.webhooks.models import WebhookDelivery
from shared.webhooks.service import deliveries_for_event, record_outcome_delivery, resend_lost_attempts

from .conftest import make_job


def _finish(ctx, db, callback_url: str | None, *, failed: bool = False):
    """Commit a job's outcome through the pipeline steps; return the job and its outcome event."""
    job = make_job(db, callback_url, status="processing")
    # Wired as the worker wires it (workers/context.py).
    step_ctx = steps.StepContext(db=db, settings=ctx.settings, storages=ctx.storages,
                                 on_outcome=record_outcome_delivery)
    if failed:
        assert steps.fail_job(step_ctx, job.id, "boom", "the convert step failed", retryable=False, run=1)
    else:
        steps.persist(step_ctx, steps.begin_step(step_ctx, job.id, "persist", 1))
    with db.session() as session:
        event = session.scalars(select(OutboxEvent).where(OutboxEvent.aggregate_id == str(job.id),
                                                          OutboxEvent.type.in_(("job.done", "job.failed")))).one()
    return job, event


def _deliveries(db, job_id) -> list[WebhookDelivery]:
    with db.session() as session:
        return list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id)))


def test_a_finished_job_with_a_callback_has_its_delivery_committed_with_the_outcome(ctx, db):
    job, event = _finish(ctx, db, "http://127.0.0.1:9/hook")

    # No event handled yet: the step's own commit recorded it.
    [delivery] = _deliveries(db, job.id)
    assert (delivery.event_id, delivery.event_type, delivery.status) == (event.event_id, "job.done", "pending")
    assert delivery.sequence == event.payload["sequence"] == 1
    assert delivery.payload["job"]["status"] == "done" and delivery.payload["job"]["result_urls"] == {}
    # The event's handler finds that delivery and makes its first attempt: no second row.
    assert deliveries_for_event(ctx, event.event_id, event.type, job.id).id == delivery.id
    assert len(_deliveries(db, job.id)) == 1


def test_a_failed_job_with_a_callback_has_its_delivery_committed_with_the_failure(ctx, db):
    job, event = _finish(ctx, db, "http://127.0.0.1:9/hook", failed=True)

    [delivery] = _deliveries(db, job.id)
    assert (delivery.event_id, delivery.event_type, delivery.payload["status"]) == (event.event_id, "job.failed",
                                                                                     "failed")


def test_a_job_without_a_callback_records_no_delivery(ctx, db):
    job, _ = _finish(ctx, db, None)

    assert _deliveries(db, job.id) == []


def test_a_delivery_whose_first_message_was_lost_is_sent_by_the_sweep(ctx, db, clock):
    job, _ = _finish(ctx, db, "http://127.0.0.1:9/hook")
    [delivery] = _deliveries(db, job.id)
    sent = []

    # webhook_for_event never ran (its message lost); five minutes later the sweep runs.
    clock.now = utcnow() + timedelta(minutes=5)
    report = resend_lost_attempts(ctx, lambda *message: sent.append(message))

    assert report == {"resent": 1}
    assert sent == [(str(delivery.id), 1, 1)]
