"""Heartbeats of the long-running processes: a small file each, read by ``python -m workers health``.

Relay, dispatcher, workers and scheduler have no HTTP port a container health check could ask.
Each writes ``HEARTBEAT_DIR/<process>.<pid>.json`` every ``HEARTBEAT_INTERVAL_SECONDS`` while its
main loop goes round, and the probe, run in the same container (or on the same host), reads the
newest one: no network, no Redis, nothing but the local file system. A heartbeat says the loop
is alive, not that its dependencies are up (``/readyz`` and the metrics say that).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from pathlib import Path

from shared.settings import Settings

log = logging.getLogger(__name__)


class Heartbeat:
    """Writes one process's heartbeat file, at most once per interval."""

    def __init__(self, settings: Settings, process: str) -> None:
        self.process = process
        self.directory = Path(settings.HEARTBEAT_DIR)
        self.interval = float(settings.HEARTBEAT_INTERVAL_SECONDS)
        self.path = self.directory / f"{process}.{os.getpid()}.json"
        self._last = float("-inf")
        self._lock = threading.Lock()

    def beat(self) -> None:
        """Write the heartbeat now (atomically: a reader never sees half a file)."""
        record = {"process": self.process, "pid": os.getpid(), "host": socket.gethostname(), "at": time.time()}
        self.directory.mkdir(parents=True, exist_ok=True)
        draft = self.path.with_name(f".{self.path.name}.tmp")
        draft.write_text(json.dumps(record))
        os.replace(draft, self.path)

    def maybe_beat(self, *, force: bool = False) -> None:
        """Beat when the interval has passed (or ``force``); a full disk is logged, never raised into the loop."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last < self.interval:
                return
            self._last = now
        try:
            self.beat()
        except OSError as exc:
            log.warning("could not write the heartbeat %s: %s", self.path, exc)

    def close(self) -> None:
        """Remove the file on a clean stop, so a stopped process is not mistaken for a live one."""
        self.path.unlink(missing_ok=True)


class BeatingStop(threading.Event):
    """A stop event that beats each time the loop asks whether to stop.

    The relay, dispatcher and scheduler loops ask ``stop.is_set()`` once per round, so the
    heartbeat proves the loop goes round without touching the loops themselves; a loop stuck
    in a call stops beating.
    """

    def __init__(self, heartbeat: Heartbeat) -> None:
        super().__init__()
        self.heartbeat = heartbeat

    def is_set(self) -> bool:
        self.heartbeat.maybe_beat()
        return super().is_set()


def newest_beat(settings: Settings, process: str) -> dict | None:
    """The newest heartbeat record of ``process`` in HEARTBEAT_DIR, or None."""
    newest = None
    for path in Path(settings.HEARTBEAT_DIR).glob(f"{process}.*.json"):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # removed or replaced while listing
        if newest is None or record.get("at", 0) > newest.get("at", 0):
            newest = record
    return newest


def probe(settings: Settings, process: str, *, now: float | None = None) -> tuple[bool, str]:
    """Whether ``process`` beat within HEARTBEAT_MAX_AGE_SECONDS, and a line saying so."""
    record = newest_beat(settings, process)
    if record is None:
        return False, f"{process}: unhealthy: no heartbeat in {settings.HEARTBEAT_DIR}"
    age = (time.time() if now is None else now) - float(record.get("at", 0))
    limit = settings.HEARTBEAT_MAX_AGE_SECONDS
    if age > limit:
        return False, f"{process}: unhealthy: last heartbeat {age:.0f}s ago (limit {limit:.0f}s, pid {record.get('pid')})"
    return True, f"{process}: ok: last heartbeat {age:.1f}s ago (pid {record.get('pid')})"
