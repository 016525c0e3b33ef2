"""The run lifecycle of a pipeline step: begin, run, finish or fail, each under the row's lock.

A pipeline (media jobs, submissions) is a row with a ``steps`` ledger (``ledger.py``),
a run number, and an :class:`Adapter` saying what its states, snapshot, events and
cleanup are. Every step message carries ``(row_id, run)``:

- ``begin_step`` counts the delivery and commits before any work; a late message of an
  earlier run, a row not active any more, or a step already done does nothing; a step
  delivered more than STEP_MAX_DELIVERIES times fails the row (``attempts_exhausted``);
- the step function works outside any transaction on a snapshot of the row;
- ``finish_step`` records its outputs only if the row is still running that run; a step that
  made its row's final transition in its own transaction (``persist``) returns
  :data:`RECORDED` instead, and the kernel takes no second lock for nothing;
- permanent errors fail the row at once; transient errors propagate to the broker's retries.

Storage calls never run under a row lock: cleanup happens after the commit.
"""

from __future__ import annotations

import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Generic, TypeVar

from shared.errors import PermanentError
from shared.media.errors import ProcessingCanceled
from shared.pipeline.ledger import DONE, count_delivery, mark_step, merge_into, merge_outputs
from shared.pipeline.observe import observer
from shared.security import redact_server_paths
from shared.storage.base import StorageProvider

log = logging.getLogger(__name__)

Ctx = TypeVar("Ctx")  # the pipeline's context: has ``db`` and ``settings``
Snap = TypeVar("Snap")  # what a step knows of its row, read when it began; has ``run``
Outputs = dict[str, dict[str, Any]]
GENERATION_STEPS = frozenset({"convert", "preview"})


class _Recorded(dict):
    """The type of :data:`RECORDED` (an empty, read-only mapping of outputs)."""

    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError("RECORDED is read-only")


# What a step returns when it marked itself done in its own transaction (its row left the
# running state there, so finish_step would only lock the row to find nothing to record).
RECORDED: Outputs = _Recorded()


class Adapter(ABC, Generic[Ctx, Snap]):
    """What a pipeline plugs into the runner: its row model, states, snapshot, events and cleanup."""

    model: type
    active: frozenset[str]  # the states a step may begin in, and a failure may end
    running: str  # the state steps run in: outputs are recorded only in it
    steps: Mapping[str, Callable[[Any, Any], Outputs | None]]

    @abstractmethod
    def run_of(self, row: Any) -> int:
        """The row's current run (a retry starts a new one)."""

    @abstractmethod
    def start(self, session: Any, row: Any) -> Snap:
        """A step begins: move the locked row to ``running`` (with its events); return its snapshot."""

    @abstractmethod
    def recorded(self, session: Any, row: Any) -> None:
        """A step's outputs were merged into the locked row: bump its version (and tell)."""

    @abstractmethod
    def mark_failed(self, ctx: Ctx, session: Any, row: Any, code: str, message: str, *, retryable: bool) -> None:
        """Set the locked row failed with ``code`` (and tell), in ``session``'s transaction."""

    @abstractmethod
    def cleanup(self, ctx: Ctx, row: Any, *, keep_source: bool) -> None:
        """After a failure is committed: remove the work folder and what the row should not keep."""

    def canceled(self, ctx: Ctx, snapshot: Snap) -> None:
        """A step stopped because its row was canceled or retried meanwhile."""

    def media_type(self, snapshot: Snap) -> str | None:
        """The media type a generation step of this snapshot renders (None: not observed)."""
        return None


def run_step(adapter: Adapter[Ctx, Snap], ctx: Ctx, row_id: uuid.UUID | str, step: str,
             run: int | None) -> bool:
    """Run one step; False when there was nothing to do or it stopped. Permanent errors fail the row."""
    row_id = uuid.UUID(str(row_id))
    snapshot = begin_step(adapter, ctx, row_id, step, run)
    if snapshot is None:
        return False
    run = snapshot.run  # type: ignore[attr-defined]  # every snapshot knows its run
    try:
        with _observed(adapter, snapshot, step):
            outputs = adapter.steps[step](ctx, snapshot)
    except ProcessingCanceled:
        adapter.canceled(ctx, snapshot)
        return False
    except PermanentError as exc:
        fail(adapter, ctx, row_id, exc.code, exc.detail, retryable=False, run=run)
        return False
    if outputs is None:  # the step stopped its run itself (say, the payment is not canonical any more)
        return False
    if outputs is RECORDED:
        return True
    finish_step(adapter, ctx, row_id, step, run, outputs)
    return True


def begin_step(adapter: Adapter[Ctx, Snap], ctx: Any, row_id: uuid.UUID, step: str,
               run: int | None) -> Snap | None:
    """Count this delivery durably and start the step; None when it must not run."""
    with ctx.db.session() as session:
        row = _locked(adapter, session, row_id, run)
        if row is None:
            return None
        state = count_delivery(row, step)
        if state is None:
            return None
        if state["deliveries"] <= ctx.settings.STEP_MAX_DELIVERIES:
            return adapter.start(session, row)
        adapter.mark_failed(ctx, session, row, "attempts_exhausted",
                            f"step {step!r} was delivered {state['deliveries'] - 1} times without finishing",
                            retryable=True)
    adapter.cleanup(ctx, row, keep_source=True)
    return None


def finish_step(adapter: Adapter[Ctx, Snap], ctx: Any, row_id: uuid.UUID, step: str, run: int | None,
                outputs: Outputs) -> None:
    """Mark the step done and keep its outputs, if the row still runs this run."""
    with ctx.db.session() as session:
        row = _locked(adapter, session, row_id, run)
        if row is None or row.status != adapter.running:
            return
        mark_step(row, step, DONE)
        merge_outputs(row, outputs)
        adapter.recorded(session, row)


def fail(adapter: Adapter[Ctx, Snap], ctx: Any, row_id: uuid.UUID | str, code: str, message: str, *,
         retryable: bool, run: int | None = None) -> bool:
    """Fail an active row and clean up after it; True if this call did it.

    With ``run``, only that run is failed: a late failure of an earlier run never fails
    the run a retry started.
    """
    with ctx.db.session() as session:
        row = _locked(adapter, session, uuid.UUID(str(row_id)), run)
        if row is None:
            return False
        # Shown to the client: ffmpeg and Pillow messages may name work files.
        adapter.mark_failed(ctx, session, row, code, redact_server_paths(message, ctx.settings), retryable=retryable)
    # A permanent failure means the source itself is bad: keep nothing of it.
    adapter.cleanup(ctx, row, keep_source=retryable)
    return True


def _locked(adapter: Adapter[Any, Any], session: Any, row_id: uuid.UUID, run: int | None) -> Any:
    """The row locked, or None when it is gone, not active, or ``run`` is not its current run."""
    row = session.get(adapter.model, row_id, with_for_update=True)
    if row is None or row.status not in adapter.active:
        return None
    if run is not None and run != adapter.run_of(row):
        return None  # a late message of an earlier run
    return row


def _observed(adapter: Adapter[Any, Any], snapshot: Any, step: str):
    media_type = adapter.media_type(snapshot) if step in GENERATION_STEPS else None
    return observer().generation(media_type) if media_type else nullcontext()


def upload_outputs(storage: StorageProvider, directory: Path, prefix: str, outputs: Outputs,
                   producers: Iterable[Callable[[], Outputs]], expected: Iterable[str] = ()) -> Outputs:
    """Put every rendered output into ``storage`` under ``prefix`` + its file name; return them ``done``.

    The work folder is scratch: when an output's file is missing (another host, a purge),
    the ``producers`` render again, idempotently, before anything is written. Keys are
    deterministic, so a second upload overwrites instead of adding.
    """
    outputs = {name: dict(value) for name, value in outputs.items()}
    present = {name for name, out in outputs.items() if out.get("file") and (directory / out["file"]).exists()}
    if (set(expected) | set(outputs)) - present:
        for produce in producers:
            merge_into(outputs, produce())
    storage = observer().storage(storage)
    written: Outputs = {}
    for name, out in sorted(outputs.items()):
        key = prefix + out["file"]
        storage.put_file(key, directory / out["file"], out["content_type"])
        written[name] = {**out, "state": DONE, "key": key}
    return written

