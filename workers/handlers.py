"""Event type -> what the dispatcher does with it."""

from __future__ import annotations

from shared.events.streams import Event
from workers import actors


def on_job_queued(event: Event) -> None:
    actors.start_pipeline(event.payload["job_id"], event.payload["kind"], int(event.payload.get("run", 1)))


def on_job_canceled(event: Event) -> None:
    actors.cleanup_job.send(event.payload["job_id"])


HANDLERS = {
    "job.queued": on_job_queued,
    "job.canceled": on_job_canceled,
}
