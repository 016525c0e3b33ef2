"""Live status: a submission's events read back from its own short stream.

Every state change of a submission is an outbox event (``submission.*``) that the relay
publishes to ``events:submissions`` (for the dispatcher) and copies to
``watch:submission:<id>`` (at most ``WATCH_MAXLEN`` entries, kept ``WATCH_STREAM_TTL`` after the
last one). A watcher reads only that stream with XREAD, so a thousand open pages do not each
read every submission's events. Its entry ids are the Server-Sent Events ids, so a
reconnecting browser's ``Last-Event-ID`` says exactly where to go on.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import redis

from shared.events.streams import Event, watch_stream
from shared.submissions.models import FINAL_STATUSES

_ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
FINAL = {status.value for status in FINAL_STATUSES}


def valid_entry_id(value: str | None) -> str | None:
    return value if value and _ENTRY_ID.match(value) else None


def stream_of(submission_id: uuid.UUID | str) -> str:
    return watch_stream("submission", str(submission_id))


def newest_entry_id(client: redis.Redis, submission_id: uuid.UUID | str) -> str:
    """The id of the submission stream's newest entry (``0-0`` when empty): where a new watcher starts."""
    newest = client.xrevrange(stream_of(submission_id), count=1)
    if not newest:
        return "0-0"
    entry_id = newest[0][0]
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def sse(event: str, data: dict[str, Any], entry_id: str | None = None) -> str:
    lines = [f"id: {entry_id}"] if entry_id else []
    lines += [f"event: {event}", f"data: {json.dumps(data, separators=(',', ':'), default=str)}"]
    return "\n".join(lines) + "\n\n"


def follow(client: redis.Redis, submission_id: uuid.UUID, after: str, *, until: float,
           block_ms: int = 5000, keepalive_every: float = 15.0) -> Iterator[str]:
    """SSE text for each event of the submission after stream entry ``after``, until ``until``
    (a ``time.monotonic()`` deadline) or its final status; comments keep idle proxies open."""
    stream = stream_of(submission_id)
    cursor = after
    last_sent = time.monotonic()
    while True:
        remaining = until - time.monotonic()
        if remaining <= 0:
            return
        entries = client.xread({stream: cursor}, count=100, block=max(1, int(min(block_ms, remaining * 1000))))
        for _stream, items in entries or []:
            for entry_id, fields in items:
                entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                cursor = entry_id
                event = Event.from_fields(fields)
                yield sse("status", {"type": event.type, **event.payload}, entry_id)
                last_sent = time.monotonic()
                if event.payload.get("status") in FINAL and event.type != "submission.created":
                    return
        if time.monotonic() - last_sent >= keepalive_every:
            yield ": keepalive\n\n"
            last_sent = time.monotonic()
