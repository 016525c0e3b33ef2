"""The dispatcher's delivery rules, against the real Redis."""

from __future__ import annotations

import time
import uuid

import pytest

from shared.events.streams import DEAD_LETTER_STREAM, Event
from workers.dispatcher import Dispatcher

STREAM = "events:jobs"


def add_event(client, event_type: str = "job.queued", event_id: str | None = None) -> Event:
    event = Event(event_id or str(uuid.uuid4()), event_type, "agg-1", {"n": 1}, "2026-01-01T00:00:00+00:00")
    client.xadd(STREAM, event.to_fields())
    return event


@pytest.fixture()
def make_dispatcher(redis_client, settings):
    def make(handler, consumer="c1", **overrides):
        s = settings.replace(**{"DISPATCHER_BLOCK_MS": 50, "DISPATCHER_RETRY_BASE_MS": 0, **overrides})
        dispatcher = Dispatcher(redis_client, s, {"job.queued": handler}, [STREAM], consumer=consumer)
        dispatcher.setup()
        return dispatcher

    return make


def pending_count(client) -> int:
    return client.xpending(STREAM, "dispatcher")["pending"]


def test_each_event_is_handled_once_and_acknowledged(redis_client, make_dispatcher):
    seen = []
    dispatcher = make_dispatcher(lambda e: seen.append(e.event_id))
    events = [add_event(redis_client) for _ in range(3)]
    while dispatcher.poll_once():
        pass
    assert seen == [e.event_id for e in events]
    assert pending_count(redis_client) == 0


def test_a_duplicate_event_id_is_dropped(redis_client, make_dispatcher):
    seen = []
    dispatcher = make_dispatcher(lambda e: seen.append(e.event_id))
    event = add_event(redis_client)
    add_event(redis_client, event_id=event.event_id)  # the relay republished after a crash
    while dispatcher.poll_once():
        pass
    dispatcher.poll_once()
    assert seen == [event.event_id]
    assert pending_count(redis_client) == 0


def test_a_failed_handler_leaves_the_entry_pending_and_it_is_retried(redis_client, make_dispatcher):
    calls = []

    def flaky(event):
        calls.append(event.event_id)
        if len(calls) == 1:
            raise RuntimeError("broker hiccup")

    dispatcher = make_dispatcher(flaky)
    event = add_event(redis_client)
    dispatcher.poll_once()
    assert pending_count(redis_client) == 1
    dispatcher.poll_once()  # re-reads its own pending entries first
    assert calls == [event.event_id, event.event_id]
    assert pending_count(redis_client) == 0


def test_on_start_a_consumer_reads_its_own_pending_entries_first(redis_client, make_dispatcher):
    crashed = make_dispatcher(lambda e: (_ for _ in ()).throw(SystemError("killed")), consumer="c1")
    event = add_event(redis_client)
    crashed.poll_once()
    seen = []
    restarted = make_dispatcher(lambda e: seen.append(e.event_id), consumer="c1")
    restarted.poll_once()
    assert seen == [event.event_id]
    assert pending_count(redis_client) == 0


def test_entries_of_a_dead_consumer_are_reclaimed(redis_client, make_dispatcher):
    dead = make_dispatcher(lambda e: (_ for _ in ()).throw(SystemError("killed")), consumer="dead")
    event = add_event(redis_client)
    dead.poll_once()
    seen = []
    alive = make_dispatcher(lambda e: seen.append(e.event_id), consumer="alive", DISPATCHER_CLAIM_IDLE_MS=0)
    assert alive.reclaim() == 1
    assert seen == [event.event_id]
    assert pending_count(redis_client) == 0


def test_an_event_delivered_too_often_goes_to_the_dead_letter_stream(redis_client, make_dispatcher):
    def always_fails(event):
        raise RuntimeError("poison")

    dispatcher = make_dispatcher(always_fails, DISPATCHER_MAX_DELIVERIES=3)
    event = add_event(redis_client)
    for _ in range(6):
        dispatcher.poll_once()
    dead = redis_client.xrange(DEAD_LETTER_STREAM)
    assert len(dead) == 1
    fields = {k.decode(): v.decode() for k, v in dead[0][1].items()}
    assert fields["event_id"] == event.event_id and fields["source_stream"] == STREAM
    assert pending_count(redis_client) == 0


def test_a_failing_event_is_retried_with_backoff_not_in_a_tight_loop(redis_client, make_dispatcher):
    calls = []

    def down_for_a_moment(event):
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise RuntimeError("database restarting")

    dispatcher = make_dispatcher(down_for_a_moment, DISPATCHER_RETRY_BASE_MS=200, DISPATCHER_MAX_DELIVERIES=5)
    add_event(redis_client)
    deadline = time.monotonic() + 5
    while len(calls) < 3 and time.monotonic() < deadline:
        dispatcher.poll_once()
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.2 and calls[2] - calls[1] >= 0.4  # 200 ms, then 400 ms
    assert pending_count(redis_client) == 0 and redis_client.xlen(DEAD_LETTER_STREAM) == 0


def test_a_malformed_entry_is_dead_lettered_instead_of_crashing_the_dispatcher(redis_client, make_dispatcher):
    dispatcher = make_dispatcher(lambda e: None)
    redis_client.xadd(STREAM, {"event_id": "x", "type": "job.queued", "payload": "{not json"})
    dispatcher.poll_once()
    dead = redis_client.xrange(DEAD_LETTER_STREAM)
    assert len(dead) == 1 and dead[0][1][b"reason"].startswith(b"malformed event")
    assert pending_count(redis_client) == 0
