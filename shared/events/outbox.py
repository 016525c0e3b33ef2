"""Record events in the same transaction as the rows they describe."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from shared.events import wakeup  # noqa: F401  (wakes the relay when the rows commit)
from shared.events.models import OutboxEvent
from shared.events.streams import stream_for
from shared.logs import carried_context


def record_event(session: Session, event_type: str, aggregate_id: str | uuid.UUID,
                 payload: dict[str, Any]) -> OutboxEvent:
    """Add an outbox row for ``event_type``; the commit wakes the relay, which publishes it."""
    event = OutboxEvent(event_id=uuid.uuid4(), stream=stream_for(event_type), type=event_type,
                        aggregate_id=str(aggregate_id), payload=payload, log_context=carried_context() or None)
    session.add(event)
    return event
