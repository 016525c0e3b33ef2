"""Samples of the running system every few seconds: CPU per process, web RSS, queue and outbox age."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Self

from sqlalchemy import create_engine, text

from bench.load.system import RunningSystem
from shared.db.session import normalize_url

INTERVAL = 2.0


def _age(oldest: Any, now: datetime) -> float:
    """Seconds since ``oldest`` (a naive value is UTC: SQLite keeps no zone), 0 when nothing waits."""
    if oldest is None:
        return 0.0
    if isinstance(oldest, str):
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (now - oldest).total_seconds())


class Monitor:
    """Sample in a thread; ``samples`` holds one dict per tick (None where a dependency did not answer)."""

    def __init__(self, system: RunningSystem, extra_pids: dict[str, int] | None = None):
        self.system = system
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        args = {"connect_timeout": 2} if system.database_url.startswith("postgresql") else {"timeout": 2}
        self._engine = create_engine(normalize_url(system.database_url), connect_args=args, pool_pre_ping=True,
                                     pool_size=1, max_overflow=0)

    def __enter__(self) -> Self:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.sample()
        self._engine.dispose()

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL):
            self.sample()

    def sample(self) -> None:
        now = datetime.now(UTC)
        row: dict[str, Any] = {"t": time.time(), "cpu": self.system.supervisor.sample_cpu()}
        web = self.system.supervisor.rss("web")
        row["web_rss"] = sum(web) or None
        row["web_worker_rss_max"] = max(web[1:], default=None)  # the gunicorn workers; [0] is the master
        try:
            with self._engine.connect() as connection:
                queued = connection.execute(text("SELECT min(created_at), count(*) FROM media_jobs "
                                                 "WHERE status = 'queued'")).one()
                outbox = connection.execute(text("SELECT min(created_at), count(*) FROM outbox_events "
                                                 "WHERE published_at IS NULL")).one()
                processing = connection.execute(text("SELECT count(*) FROM media_jobs "
                                                     "WHERE status = 'processing'")).scalar()
            row.update(queue_age=_age(queued[0], now), queued=queued[1], outbox_age=_age(outbox[0], now),
                       outbox_backlog=outbox[1], processing=processing)
        except Exception:  # noqa: BLE001 - the database is down during a fault: a gap in the plot
            row.update(queue_age=None, queued=None, outbox_age=None, outbox_backlog=None, processing=None)
        self.samples.append(row)

    def processing_job_ids(self) -> set[str]:
        """Ids of the jobs a worker is on now."""
        with self._engine.connect() as connection:
            rows = connection.execute(text("SELECT id FROM media_jobs WHERE status = 'processing'")).all()
        return {uuid.UUID(str(row[0])).hex for row in rows}
