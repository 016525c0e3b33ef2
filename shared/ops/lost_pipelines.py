"""The pipeline sweep: start again a media job, paid submission or tus upload whose messages Redis lost.

Steps hand over through the broker, and the next message is enqueued before the current one
is acknowledged, so while a pipeline runs the broker always holds a message for its row, unless
Redis lost it (with ``appendfsync everysec`` a host crash drops up to a second of writes).
Such a row would stay ``queued``/``paid`` or ``processing`` for good, and a resumable upload whose
last byte is in would stay ``completing`` (its finish is one message too). The ``sweep-pipelines``
ops task finds active rows untouched for PIPELINE_SWEEP_AFTER_SECONDS that no message in the
broker names, ready, in progress or delayed, and sends their pipeline again from its first step.
Steps already done do nothing on a second message (``shared.pipeline.ledger``), so the run goes on
where it stopped. A row whose pipeline an event starts (``queued``, ``paid``) is left to the event
path while that is behind: its event may yet be published or dispatched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from sqlalchemy import select

from shared.db import Database, utcnow
from shared.jobs.models import JobStatus, MediaJob
from shared.ops import queues
from shared.settings import Settings
from shared.submissions.models import Submission, SubmissionStatus
from shared.uploads import tus
from shared.uploads.models import TusUpload

# Rows looked at per sweep and kind, the longest untouched first; the next sweep takes the rest.
SWEEP_BATCH = 500
# The queues pipeline steps run on (workers/actors.py MEDIA_STEPS, workers/submission_actors.py).
STEP_QUEUES = ("video", "media")


@dataclass(frozen=True)
class Swept:
    """One kind of pipeline row, as the sweep sees it."""

    name: str  # names the counts: "<name>_restarted", "<name>_waiting_on_events"
    model: Any
    started_by_event: str  # the status an event's dispatch moves on from
    running: str
    start_args: tuple[Any, ...]  # the columns passed to ``start`` after the row's id


JOBS = Swept("jobs", MediaJob, JobStatus.QUEUED.value, JobStatus.PROCESSING.value,
             (MediaJob.kind, MediaJob.attempts))
SUBMISSIONS = Swept("submissions", Submission, SubmissionStatus.PAID.value, SubmissionStatus.PROCESSING.value,
                    (Submission.run,))
# An upload's finish is started by its upload.assembled event and is a single step.
TUS_UPLOADS = Swept("tus_uploads", TusUpload, tus.COMPLETING, tus.COMPLETING, ())


def restart_lost(db: Database, settings: Settings, client: redis.Redis,
                 kinds: Iterable[tuple[Swept, Callable[..., None]]], *, now: datetime | None = None) -> dict[str, int]:
    """Send the pipeline again for each active row of the ``kinds`` the broker holds no message for; count them.

    Each kind comes with its ``start(row_id, *start_args)``, which enqueues a row's pipeline (the
    worker side passes its own). The broker and the event path are read once, and only when a row
    qualifies.
    """
    cutoff = (now or utcnow()) - timedelta(seconds=settings.PIPELINE_SWEEP_AFTER_SECONDS)
    found = [(swept, start, _untouched(db, swept, cutoff)) for swept, start in kinds]
    held: set[str] = set()
    events_behind = False
    if any(candidates for _, _, candidates in found):
        held, events_behind = queues.ids_in_broker(client, STEP_QUEUES), event_path_behind(db, client)
    counts: dict[str, int] = {}
    for swept, start, candidates in found:
        restarted = waiting = 0
        for row_id, status, *args in candidates:
            if str(row_id) in held:
                continue  # its message is still there: a long step, a backlog or a retry's backoff
            if status == swept.started_by_event and events_behind:
                waiting += 1
                continue
            start(str(row_id), *args)
            restarted += 1
        counts.update({f"{swept.name}_restarted": restarted, f"{swept.name}_waiting_on_events": waiting})
    return counts


def _untouched(db: Database, swept: Swept, cutoff: datetime) -> list[Any]:
    """The active rows of ``swept`` untouched since ``cutoff``: (id, status, *start_args), the oldest first."""
    model = swept.model
    with db.read_only() as connection:
        return connection.execute(
            select(model.id, model.status, *swept.start_args)
            .where(model.status.in_((swept.started_by_event, swept.running)), model.updated_at < cutoff)
            .order_by(model.updated_at).limit(SWEEP_BATCH)).all()


def event_path_behind(db: Database, client: redis.Redis) -> bool:
    """Whether an event is still unpublished in the outbox or undispatched in a stream."""
    if queues.outbox_backlog(db)["unpublished"]:
        return True
    return any(group["pending"] or group["lag"]
               for stream in queues.stream_backlogs(client) for group in stream["groups"])
