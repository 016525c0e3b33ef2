"""Outbox relay: publish committed outbox rows to Redis Streams, in order, at least once."""

from __future__ import annotations

import logging
import threading

import redis
from sqlalchemy import select

from shared.db import Database, utcnow
from shared.events.models import OutboxEvent
from shared.events.streams import WATCH_MAXLEN, Event, watch_stream_for
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
        return len(rows)


def run_relay(db: Database, client: redis.Redis, settings: Settings, stop: threading.Event) -> None:
    """Publish until ``stop`` is set; back off while Redis or the database is unreachable."""
    backoff = 0.0
    while not stop.is_set():
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
            stop.wait(settings.RELAY_POLL_INTERVAL)
