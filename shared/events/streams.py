"""Redis Streams: names, the wire format of an event, consumer-group helpers."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import redis

DEAD_LETTER_STREAM = "events:dead"

# Event type prefix -> stream. One stream per aggregate family keeps per-job order.
_STREAMS = {
    "job": "events:jobs",
    "upload": "events:uploads",
    "payment": "events:payments",
    "submission": "events:submissions",
    "profile": "events:profiles",
    "moderation": "events:moderation",
    "ops": "events:ops",
}


# Families whose events are also copied to a short stream of their own aggregate, for live
# watchers (Server-Sent Events, an upload's event list) that must not read every other aggregate's
# events to find theirs.
WATCHED_FAMILIES = frozenset({"submission", "upload"})
WATCH_MAXLEN = 200


def watch_stream(family: str, aggregate_id: str) -> str:
    """The short stream of one aggregate's events (``watch:submission:<id>``)."""
    return f"watch:{family}:{aggregate_id}"


def watch_stream_for(event_type: str, aggregate_id: str) -> str | None:
    family = event_type.split(".", 1)[0]
    return watch_stream(family, aggregate_id) if family in WATCHED_FAMILIES else None


def stream_for(event_type: str) -> str:
    family = event_type.split(".", 1)[0]
    try:
        return _STREAMS[family]
    except KeyError:
        raise ValueError(f"no stream for event type {event_type!r}") from None


def all_streams() -> list[str]:
    return sorted(set(_STREAMS.values()))


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    aggregate_id: str
    payload: dict[str, Any]
    occurred_at: str
    # Log context of whoever recorded the event (request_id, ...): see shared/logs.py.
    context: dict[str, str] = field(default_factory=dict)

    def to_fields(self) -> dict[str, str]:
        fields = {"event_id": self.event_id, "type": self.type, "aggregate_id": self.aggregate_id,
                  "payload": json.dumps(self.payload, separators=(",", ":")),
                  "occurred_at": self.occurred_at}
        if self.context:
            fields["context"] = json.dumps(self.context, separators=(",", ":"))
        return fields

    @classmethod
    def from_fields(cls, fields: dict[bytes | str, bytes | str]) -> Event:
        def text(name: str) -> str:
            value = fields.get(name, fields.get(name.encode(), b""))
            return value.decode() if isinstance(value, bytes) else value

        return cls(event_id=text("event_id"), type=text("type"), aggregate_id=text("aggregate_id"),
                   payload=json.loads(text("payload") or "{}"), occurred_at=text("occurred_at"),
                   context=json.loads(text("context") or "{}"))

    @classmethod
    def new(cls, event_type: str, aggregate_id: str, payload: dict[str, Any], occurred_at: str) -> Event:
        return cls(str(uuid.uuid4()), event_type, aggregate_id, payload, occurred_at)


def ensure_group(client: redis.Redis, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) if missing."""
    try:
        client.xgroup_create(stream, group, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
