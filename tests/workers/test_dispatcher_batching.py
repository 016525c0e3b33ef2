"""The dispatcher's Redis round trips per event: the dedup check and the acknowledgement are batched."""

from __future__ import annotations

import uuid

import redis

from shared.events.streams import Event
from workers.dispatcher import ACK_BATCH, DEDUP_PREFIX, Dispatcher

STREAM = "events:jobs"


def test_dispatcher_throughput_round_trips_per_event_are_batched(redis_client, settings, monkeypatch):
    events = [Event(str(uuid.uuid4()), "job.queued", "agg", {"n": n}, "2026-01-01T00:00:00+00:00")
              for n in range(100)]
    handled: list[int] = []
    dispatcher = Dispatcher(redis_client, settings.replace(DISPATCHER_BLOCK_MS=50),
                            {"job.queued": lambda event: handled.append(event.payload["n"])}, [STREAM])
    dispatcher.setup()
    assert dispatcher.poll_once() == 0  # its own pending entries first: none, and nothing new
    for event in events:
        redis_client.xadd(STREAM, event.to_fields())

    trips = 0
    send = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        nonlocal trips
        trips += 1
        return send(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    assert dispatcher.poll_once() == 100
    monkeypatch.undo()

    assert handled == list(range(100))
    assert redis_client.xpending(STREAM, "dispatcher")["pending"] == 0
    assert all(redis_client.exists(DEDUP_PREFIX + event.event_id) for event in events)
    # One read, one dedup check, one acknowledgement per ACK_BATCH handled (today: two per event).
    assert trips <= 2 + 100 // ACK_BATCH + 1, f"{trips} round trips for 100 events"


def test_dispatcher_throughput_a_duplicate_inside_one_batch_is_handled_once(redis_client, settings):
    event = Event(str(uuid.uuid4()), "job.queued", "agg", {}, "2026-01-01T00:00:00+00:00")
    for _ in range(3):  # the relay republished it (crash between XADD and its commit)
        redis_client.xadd(STREAM, event.to_fields())
    handled: list[str] = []
    dispatcher = Dispatcher(redis_client, settings.replace(DISPATCHER_BLOCK_MS=50),
                            {"job.queued": lambda e: handled.append(e.event_id)}, [STREAM])
    dispatcher.setup()
    dispatcher.poll_once()
    dispatcher.poll_once()
    assert handled == [event.event_id]
    assert redis_client.xpending(STREAM, "dispatcher")["pending"] == 0
