"""Outbox relay: publish committed outbox rows to Redis Streams, in order, at least once.

Commits wake it (shared/events/wakeup.py: LISTEN/NOTIFY on PostgreSQL, a Redis list on SQLite);
between wake-ups it sweeps every RELAY_POLL_INTERVAL, so a lost wake-up delays an event, never loses it.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
import redis
from sqlalchemy import select
from sqlalchemy.engine import make_url

from shared.db import Database, utcnow
from shared.events.models import OutboxEvent
from shared.events.streams import WATCH_MAXLEN, Event, watch_stream_for
from shared.events.wakeup import CHANNEL, RELAY_WAKEUP_KEY
from shared.metrics import record_events_published
from shared.settings import Settings

log = logging.getLogger(__name__)


def publish_pending(db: Database, client: redis.Redis, settings: Settings) -> int:
    """Publish one batch of unpublished rows; return how many were published.

    The rows stay locked while they are added to the streams, so two relays never
    publish the same row; a crash between XADD and the commit republishes it, and
    consumers drop the duplicate by event id.
    """
    with db.session() as session:
        query = (select(OutboxEvent).where(OutboxEvent.published_at.is_(None))
                 .order_by(OutboxEvent.id).limit(settings.RELAY_BATCH_SIZE))
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = session.scalars(query).all()
        if not rows:
            return 0
        pipe = client.pipeline(transaction=False)
        for row in rows:
            event = Event(str(row.event_id), row.type, row.aggregate_id, row.payload, row.created_at.isoformat(),
                          row.log_context or {})
            pipe.xadd(row.stream, event.to_fields(), maxlen=settings.STREAM_MAXLEN, approximate=True)
            watch = watch_stream_for(row.type, row.aggregate_id)
            if watch is not None:  # live watchers read only their aggregate's events
                pipe.xadd(watch, event.to_fields(), maxlen=WATCH_MAXLEN, approximate=True)
                pipe.expire(watch, settings.WATCH_STREAM_TTL)
        pipe.execute()
        now = utcnow()
        for row in rows:
            row.published_at = now
        published = [row.type for row in rows]
    # After the commit: a failed commit republishes the rows, and they are counted then.
    record_events_published(published)
    return len(published)


def run_relay(db: Database, client: redis.Redis, settings: Settings, stop: threading.Event) -> None:
    """Publish until ``stop`` is set; back off while Redis or the database is unreachable."""
    wakeup = PostgresWakeup(db) if db.engine.dialect.name == "postgresql" else RedisWakeup(client)
    backoff = 0.0
    try:
        while not stop.is_set():
            # Listening starts before the sweep, so a commit right after the sweep still wakes us.
            wakeup.arm()
            try:
                published = publish_pending(db, client, settings)
                backoff = 0.0
            except redis.RedisError as exc:
                backoff = min(max(backoff * 2, 0.5), 10.0)
                log.warning("relay: Redis unavailable (%s); retrying in %.1fs", exc, backoff)
                stop.wait(backoff)
                continue
            except Exception:
                backoff = min(max(backoff * 2, 0.5), 10.0)
                log.exception("relay: publishing failed; retrying in %.1fs", backoff)
                stop.wait(backoff)
                continue
            if published < settings.RELAY_BATCH_SIZE:
                wakeup.wait(settings.RELAY_POLL_INTERVAL, stop)
    finally:
        wakeup.close()


# One blocking wait at most this long, so a stop (and the heartbeat in stop.is_set) is seen.
_WAIT_SLICE = 1.0


class _Wakeup:
    """Wait until a commit wakes the relay or ``timeout`` (the fallback sweep) passes."""

    def arm(self) -> None:
        """Get ready to be woken (reconnect after an error)."""

    def wait(self, timeout: float, stop: threading.Event) -> None:
        deadline = time.monotonic() + timeout
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._wait_once(min(left, _WAIT_SLICE), stop):
                return

    def _wait_once(self, seconds: float, stop: threading.Event) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection."""


class PostgresWakeup(_Wakeup):
    """LISTEN on its own autocommit connection; commits that added outbox rows NOTIFY."""

    def __init__(self, db: Database):
        self.conninfo = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.connection: psycopg.Connection | None = None

    def arm(self) -> None:
        if self.connection is None:
            try:
                self.connection = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
                self.connection.execute(f"LISTEN {CHANNEL}")
            except psycopg.Error as exc:
                log.warning("relay: cannot LISTEN (%s); sweeping every RELAY_POLL_INTERVAL", exc)
                self.close()

    def _wait_once(self, seconds: float, stop: threading.Event) -> bool:
        if self.connection is None:
            stop.wait(seconds)
            return False
        try:
            woken = any(True for _ in self.connection.notifies(timeout=seconds, stop_after=1))
            for _ in self.connection.notifies(timeout=0):  # a burst of commits needs one sweep
                pass
            return woken
        except psycopg.Error as exc:
            log.warning("relay: LISTEN connection lost (%s)", exc)
            self.close()
            return True  # sweep now; arm() reconnects

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except psycopg.Error:
                pass


class RedisWakeup(_Wakeup):
    """Block on the Redis list that commits push to (SQLite: no LISTEN across processes)."""

    def __init__(self, client: redis.Redis):
        self.client = client

    def _wait_once(self, seconds: float, stop: threading.Event) -> bool:
        try:
            if self.client.blpop([RELAY_WAKEUP_KEY], timeout=seconds) is None:
                return False
            self.client.delete(RELAY_WAKEUP_KEY)  # a burst of commits needs one sweep
            return True
        except redis.RedisError:
            stop.wait(seconds)  # the sweep reports the outage and backs off
            return False
