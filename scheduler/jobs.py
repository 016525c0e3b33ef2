"""What APScheduler calls when a schedule fires (stored in the job store as ``scheduler.jobs:fire``).

Firing only records the run and its outbox event; the work happens on the
``light`` queue. The scheduler process stays small and never blocks on a task.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared.db import get_database, utcnow
from shared.logs import log_context
from shared.ops.runs import request_scheduled_run
from shared.settings import get_settings

# The clock firing reads (tests simulate midnight by replacing it).
clock: Callable[[], datetime] = utcnow


def fire(name: str) -> None:
    settings = get_settings()
    with log_context(schedule=name):
        request_scheduled_run(get_database(settings), settings, name, now=clock())
