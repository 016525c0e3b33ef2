"""The webhook sequence follows the order of the job's outcomes, not the order events are handled."""

from __future__ import annotations

from sqlalchemy import select

from shared.events.models import OutboxEvent
from shared.jobs import steps
from shared.jobs.service import retry_job
from shared.webhooks.service import deliveries_for_event

from .conftest import make_job


def _events(db, job_id) -> dict[str, OutboxEvent]:
    with db.session() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.aggregate_id == str(job_id))
                               .order_by(OutboxEvent.id)).all()
    return {row.type: row for row in rows if row.type in ("job.failed", "job.done")}


def test_webhook_sequence_follows_event_order_when_a_failure_of_run_1_is_handled_after_done_of_run_2(ctx, db):
    job = make_job(db, "http://127.0.0.1:9/hook", status="processing")
    step_ctx = steps.StepContext(db=db, settings=ctx.settings, storages=ctx.storages)
    assert steps.fail_job(step_ctx, job.id, "boom", "run 1 failed", retryable=True, run=1)
    retry_job(db, job.tenant_id, job.id)
    snapshot = steps.begin_step(step_ctx, job.id, "persist", 2)
    steps.persist(step_ctx, snapshot)
    events = _events(db, job.id)

    # The failure of run 1 is delayed: its event is handled after the done of run 2.
    done = deliveries_for_event(ctx, events["job.done"].event_id, "job.done", job.id)
    failed = deliveries_for_event(ctx, events["job.failed"].event_id, "job.failed", job.id)

    assert failed.sequence < done.sequence
    assert (failed.sequence, done.sequence) == (1, 2)
    assert (failed.payload["sequence"], done.payload["sequence"]) == (1, 2)
