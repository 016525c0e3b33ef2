"""Folders under TEMP_DIR whose entries can still be in use, and how to tell.

The temp purge removes files older than the retention, but never an entry of
an area below that is still in use, however old its files are (a long job's
source, an upload waiting for its payment). Each area names its folder directly
under TEMP_DIR and a function that takes the names of the entries found there
(``jobs/<job_id>`` -> ``"<job_id>"``) and returns those still in use.

A feature that keeps files in TEMP_DIR adds its area to ``TEMP_AREAS``, e.g.
``TempArea("uploads", uploads.uploads_in_use, "...")`` for ``TEMP_DIR/uploads/<upload_id>``.
Area folders themselves are never removed. An area may also name the entries whose owner is
finished (a job or submission in a final state): their work folders are scratch nothing will use
again, left on a host whose worker died or that ran only some of the steps, and go whatever
their age.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from shared.db import Database
from shared.jobs.models import FINAL_STATUSES, MediaJob
from shared.submissions.models import Submission, SubmissionStatus
from shared.uploads import service as uploads

InUse = Callable[[Database, list[str]], set[str]]


@dataclass(frozen=True)
class TempArea:
    folder: str
    in_use: InUse
    description: str
    finished: InUse | None = None


def _uuids(names: Iterable[str]) -> dict[uuid.UUID, str]:
    found = {}
    for name in names:
        try:
            found[uuid.UUID(name)] = name
        except ValueError:
            continue
    return found


def _named_rows(db: Database, names: list[str], column: Any, condition: Any) -> set[str]:
    """The names (ids) whose row satisfies ``condition``, looked up 500 ids at a time."""
    ids = _uuids(names)
    chunk = list(ids)
    found: set[str] = set()
    with db.session() as session:
        for start in range(0, len(chunk), 500):
            rows = session.scalars(select(column).where(column.in_(chunk[start:start + 500]), condition))
            found.update(ids[row] for row in rows)
    return found


_FINAL_JOB_STATUSES = [status.value for status in FINAL_STATUSES]
_SUBMISSION_RUNNING = (SubmissionStatus.PAID.value, SubmissionStatus.PROCESSING.value)


def jobs_in_use(db: Database, names: list[str]) -> set[str]:
    """Work folders of jobs that are queued or processing."""
    return _named_rows(db, names, MediaJob.id, MediaJob.status.not_in(_FINAL_JOB_STATUSES))


def jobs_finished(db: Database, names: list[str]) -> set[str]:
    """Work folders of jobs in a final state (a retry makes its own folder again from storage)."""
    return _named_rows(db, names, MediaJob.id, MediaJob.status.in_(_FINAL_JOB_STATUSES))


def submissions_in_use(db: Database, names: list[str]) -> set[str]:
    """Work folders of paid submissions still being processed."""
    return _named_rows(db, names, Submission.id, Submission.status.in_(_SUBMISSION_RUNNING))


def submissions_finished(db: Database, names: list[str]) -> set[str]:
    """Work folders of submissions that are no longer paid or processing (published, failed, ...)."""
    return _named_rows(db, names, Submission.id, Submission.status.not_in(_SUBMISSION_RUNNING))


def nothing_in_use(_db: Database, _names: list[str]) -> set[str]:
    """Files being written have a fresh modification time, which the retention already keeps."""
    return set()


TEMP_AREAS: tuple[TempArea, ...] = (
    TempArea("jobs", jobs_in_use, "per-job work folders TEMP_DIR/jobs/<job_id>: kept while the job is not final, "
             "removed at once when it is", jobs_finished),
    TempArea("incoming", nothing_in_use, "uploads streaming in (TEMP_DIR/incoming/*.part): kept while written to"),
    TempArea("uploads", uploads.uploads_in_use, "temporary uploads of before they went to storage, TEMP_DIR/uploads/<id>: "
             "kept until deleted "
             "or expired unclaimed; kept while a submission uses them"),
    TempArea("submissions", submissions_in_use, "work folders of paid submissions TEMP_DIR/submissions/<id>: "
             "kept while paid or processing, removed at once after", submissions_finished),
)
