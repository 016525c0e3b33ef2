"""The step ledger: each step's state and delivery count in a row's ``steps`` JSON column.

This is the one answer to "what happens when a step runs twice": a delivery is counted
(and committed by the caller) before any work, so a run killed with SIGKILL still counts
and a step that keeps dying fails the row instead of looping; a step marked ``done`` is
never run again, so a redelivered message of a finished step does nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

PENDING = "pending"
RUNNING = "running"
DONE = "done"


def fresh_step() -> dict[str, Any]:
    """The state of a step no delivery reached yet."""
    return {"state": PENDING, "deliveries": 0}


def fresh_steps(names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """A ledger for a new run: every step pending, nothing delivered."""
    return {name: fresh_step() for name in names}


def count_delivery(row: Any, step: str) -> dict[str, Any] | None:
    """Count one delivery of ``step`` in ``row.steps`` and mark it running; None when it is done already.

    ``row`` is any locked row with a ``steps`` JSON column (media jobs, submissions): the
    caller commits before working, so a run killed with SIGKILL still counts.
    """
    steps = _copy(row.steps)
    state = steps.setdefault(step, fresh_step())
    if state["state"] == DONE:
        return None
    state["deliveries"] += 1
    state["state"] = RUNNING
    row.steps = steps
    return state


def mark_step(row: Any, step: str, state: str) -> None:
    """Set the state of ``step`` in ``row.steps`` (JSON columns are replaced, never mutated in place)."""
    steps = _copy(row.steps)
    steps.setdefault(step, fresh_step())["state"] = state
    row.steps = steps


def merge_outputs(row: Any, outputs: dict[str, dict[str, Any]]) -> None:
    """Merge what a step made into ``row.outputs``."""
    if outputs:
        merged = _copy(row.outputs)
        merge_into(merged, outputs)
        row.outputs = merged


def merge_into(outputs: dict[str, dict[str, Any]], more: dict[str, dict[str, Any]]) -> None:
    """Add ``more``'s outputs to ``outputs`` in place, field by field."""
    for name, value in more.items():
        outputs.setdefault(name, {}).update(value)


def _copy(column: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: dict(value) for name, value in column.items()}
