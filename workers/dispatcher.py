"""Dispatcher: a consumer group on the event streams that turns facts into pipelines.

At-least-once: an entry is acknowledged only after its handler returned. On
start it re-reads its own pending entries, it reclaims entries that another
consumer left idle (XAUTOCLAIM), dead-letters an entry delivered too often, and
drops events whose id it has already handled.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from shared.events.streams import DEAD_LETTER_STREAM, Event, ensure_group
from shared.logs import CARRIED_KEYS, log_context
from shared.settings import Settings

log = logging.getLogger(__name__)

GROUP = "dispatcher"
DEDUP_PREFIX = "showreel:dispatched:"
# Handled entries are acknowledged (and their ids remembered) this many at a time, in one round trip: a
# dispatcher killed in between hands at most this many events on a second time, which every handler's
# consumer already tolerates (at-least-once).
ACK_BATCH = 10

Handler = Callable[[Event], None]


class Dispatcher:
    def __init__(self, client: redis.Redis, settings: Settings, handlers: dict[str, Handler],
                 streams: list[str], *, group: str = GROUP, consumer: str | None = None):
        self.client = client
        self.settings = settings
        self.handlers = handlers
        self.streams = streams
        self.group = group
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self._reread_pending = True
        self._failures = 0
        self._retry_at = 0.0

    def setup(self) -> None:
        for stream in self.streams:
            ensure_group(self.client, stream, self.group)

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, backing off while Redis is unreachable."""
        backoff = 0.0
        claim_every = max(1.0, self.settings.DISPATCHER_CLAIM_IDLE_MS / 3000)
        next_claim = 0.0
        ready = False
        while not stop.is_set():
            try:
                if not ready:
                    self.setup()
                    ready = True
                now = time.monotonic()
                if now >= next_claim:
                    self.reclaim()
                    next_claim = now + claim_every
                self.poll_once()
                backoff = 0.0
            except redis.RedisError as exc:
                ready = False
                backoff = min(max(backoff * 2, 0.5), 10.0)
                log.warning("dispatcher: Redis unavailable (%s); retrying in %.1fs", exc, backoff)
                stop.wait(backoff)

    def poll_once(self) -> int:
        """Handle own pending entries first, else wait for new ones; return how many were handled.

        After a handler failed, its entry is retried with exponential backoff
        (DISPATCHER_RETRY_BASE_MS, doubling), so a short outage of a dependency does
        not burn through DISPATCHER_MAX_DELIVERIES in milliseconds.
        """
        block_ms = self.settings.DISPATCHER_BLOCK_MS
        if self._reread_pending:
            wait = self._retry_at - time.monotonic()
            if wait <= 0:
                entries = self.client.xreadgroup(self.group, self.consumer, {s: "0" for s in self.streams},
                                                 count=100)
                pending = [(stream, items) for stream, items in entries or [] if items]
                if pending:
                    failures_before = self._failures
                    handled = self._handle_all(pending, redelivered=True)
                    if self._failures == failures_before:
                        self._failures = 0
                    return handled
                self._reread_pending = False
                self._failures = 0
            else:
                block_ms = max(1, min(block_ms, int(wait * 1000)))
        entries = self.client.xreadgroup(self.group, self.consumer, {s: ">" for s in self.streams},
                                         count=100, block=block_ms)
        return self._handle_all(entries or [], redelivered=False)

    def reclaim(self) -> int:
        """Take over entries idle longer than the claim threshold (their consumer died)."""
        claimed = 0
        for stream in self.streams:
            start = "0-0"
            while True:
                next_start, entries, *_ = self.client.xautoclaim(
                    stream, self.group, self.consumer, self.settings.DISPATCHER_CLAIM_IDLE_MS,
                    start_id=start, count=100)
                if entries:
                    claimed += self._handle_all([(stream, entries)], redelivered=True)
                start = next_start.decode() if isinstance(next_start, bytes) else next_start
                if start == "0-0":
                    break
        return claimed

    def _handle_all(self, entries, *, redelivered: bool) -> int:
        """Handle entries in order; acknowledge the handled ones ACK_BATCH at a time (one round trip)."""
        handled = 0
        for stream, items in entries:
            stream = _text(stream)
            parsed = [(entry_id, fields, _parse(fields)) for entry_id, fields in items]
            known = self._dispatched_already([event for _, _, event in parsed if isinstance(event, Event)])
            done: list[tuple[Any, str | None]] = []  # (entry id, event id to remember) to acknowledge
            try:
                for entry_id, fields, event in parsed:
                    if fields is None:  # trimmed before it was handled
                        done.append((entry_id, None))
                    elif not isinstance(event, Event):
                        # A malformed entry (e.g. a hand-made re-drive) would fail forever: set it aside.
                        self.dead_letter_raw(stream, entry_id, fields, reason=f"malformed event: {event}")
                    elif event.event_id in known:
                        done.append((entry_id, None))
                    elif self.handle(stream, entry_id, event, redelivered=redelivered):
                        known.add(event.event_id)
                        done.append((entry_id, event.event_id))
                        handled += 1
                    if len(done) >= ACK_BATCH:
                        self._acknowledge(stream, done)
                        done = []
            finally:
                if done:
                    self._acknowledge(stream, done)
        return handled

    def handle(self, stream: str, entry_id, event: Event, *, redelivered: bool) -> bool:
        """Run the event's handler; False when it failed (left pending) or was dead-lettered."""
        if redelivered and self._deliveries(stream, entry_id) > self.settings.DISPATCHER_MAX_DELIVERIES:
            self.dead_letter(stream, entry_id, event, reason="too many deliveries")
            return False
        handler = self.handlers.get(event.type)
        try:
            if handler is not None:
                with log_context(**event_log_context(event)):
                    handler(event)
        except Exception:
            # Left pending: re-read on the next poll, dead-lettered after K deliveries.
            log.exception("dispatcher: handler for %s (%s) failed", event.type, event.event_id)
            self._schedule_retry()
            return False
        return True

    def _dispatched_already(self, events: list[Event]) -> set[str]:
        """The ids among ``events`` handled before (by any dispatcher), in one round trip."""
        if not events:
            return set()
        pipe = self.client.pipeline(transaction=False)
        for event in events:
            pipe.exists(DEDUP_PREFIX + event.event_id)
        return {event.event_id for event, found in zip(events, pipe.execute()) if found}

    def _acknowledge(self, stream: str, done: list[tuple[Any, str | None]]) -> None:
        """Remember the handled event ids and acknowledge their entries, atomically."""
        pipe = self.client.pipeline(transaction=True)
        for _, event_id in done:
            if event_id is not None:
                pipe.set(DEDUP_PREFIX + event_id, 1, ex=self.settings.DISPATCHER_DEDUP_TTL)
        pipe.xack(stream, self.group, *[entry_id for entry_id, _ in done])
        pipe.execute()

    def _deliveries(self, stream: str, entry_id) -> int:
        info = self.client.xpending_range(stream, self.group, min=entry_id, max=entry_id, count=1)
        return int(info[0]["times_delivered"]) if info else 1

    def _schedule_retry(self) -> None:
        self._reread_pending = True
        delay = self.settings.DISPATCHER_RETRY_BASE_MS / 1000 * (2 ** min(self._failures, 6))
        self._failures += 1
        self._retry_at = time.monotonic() + delay

    def dead_letter(self, stream: str, entry_id, event: Event, *, reason: str) -> None:
        log.error("dispatcher: dead-lettering %s (%s) from %s: %s", event.type, event.event_id, stream, reason)
        self.dead_letter_raw(stream, entry_id, event.to_fields(), reason=reason)

    def dead_letter_raw(self, stream: str, entry_id, fields, *, reason: str) -> None:
        fields = {_text(k): _text(v) for k, v in fields.items()}
        fields.update(source_stream=stream, source_id=_text(entry_id), group=self.group, reason=reason)
        pipe = self.client.pipeline(transaction=True)
        pipe.xadd(DEAD_LETTER_STREAM, fields, maxlen=self.settings.STREAM_MAXLEN, approximate=True)
        pipe.xack(stream, self.group, entry_id)
        pipe.execute()


def event_log_context(event: Event) -> dict[str, str]:
    """The recorder's context plus the event's own ids: what the messages it causes carry on."""
    context = {key: value for key, value in event.context.items() if key in CARRIED_KEYS}
    for key in CARRIED_KEYS:
        if key not in context and isinstance(event.payload.get(key), str):
            context[key] = event.payload[key]
    return {**context, "event_id": event.event_id, "event_type": event.type}


def _parse(fields) -> Event | Exception | None:
    """The entry's event, the error that made it unreadable, or None for a trimmed entry."""
    if fields is None:
        return None
    try:
        return Event.from_fields(fields)
    except (ValueError, TypeError, KeyError) as exc:
        return exc


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
