"""Wake the outbox relay when a transaction that recorded events commits.

PostgreSQL: ``NOTIFY showreel_outbox`` inside the transaction that adds outbox rows, so it is
delivered on commit and never for a rollback; the relay LISTENs. SQLite (``make run``, every
Procfile line its own process): after the commit, a token on a Redis list the relay blocks on.
A wake-up is only a hint: the relay still sweeps every RELAY_POLL_INTERVAL, so a lost one
(Redis down, relay restarting) costs at most one interval and never an event.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from shared.events.models import OutboxEvent
from shared.settings import get_settings

log = logging.getLogger(__name__)

CHANNEL = "showreel_outbox"
RELAY_WAKEUP_KEY = "showreel:relay:wakeup"
# Tokens kept when no relay takes them (relay down): one is enough to wake it.
RELAY_WAKEUP_CAP = 16
# After a failed push the next ones are skipped for this long: a down Redis must not slow every commit.
FAILURE_PAUSE_SECONDS = 5.0

_PENDING = "showreel_outbox_wakeup"  # session.info key: dialect of a transaction that added outbox rows


def _after_flush(session: Session, _flush_context) -> None:
    if _PENDING in session.info or not any(isinstance(obj, OutboxEvent) for obj in session.new):
        return
    connection = session.connection()
    session.info[_PENDING] = connection.dialect.name
    if connection.dialect.name == "postgresql":
        # Transactional: PostgreSQL sends it at commit, folds repeats into one, drops it on rollback.
        connection.exec_driver_sql(f"NOTIFY {CHANNEL}")


def _after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, None) == "sqlite":
        _redis_waker.push()


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


class _RedisWaker:
    """Push the SQLite relay's wake-up token, with short timeouts and a pause after a failure."""

    def __init__(self) -> None:
        self._client: redis.Redis | None = None
        self._url = ""
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def push(self) -> None:
        url = get_settings().REDIS_URL
        if not url or time.monotonic() < self._paused_until:
            return
        try:
            pipe = self._client_for(url).pipeline(transaction=False)
            pipe.lpush(RELAY_WAKEUP_KEY, 1)
            pipe.ltrim(RELAY_WAKEUP_KEY, 0, RELAY_WAKEUP_CAP - 1)
            pipe.execute()
        except redis.RedisError as exc:
            self._paused_until = time.monotonic() + FAILURE_PAUSE_SECONDS
            log.debug("outbox wake-up not sent (%s); the relay's sweep publishes the event", exc)

    def _client_for(self, url: str) -> redis.Redis:
        with self._lock:
            if self._client is None or self._url != url:
                self._client = redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.25)
                self._url = url
            return self._client


_redis_waker = _RedisWaker()


def install() -> None:
    """Register the session hooks (once per process; every module that records events imports this)."""
    for name, hook in (("after_flush", _after_flush), ("after_commit", _after_commit),
                       ("after_rollback", _after_rollback)):
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)


install()
