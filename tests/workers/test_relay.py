"""The outbox relay publishes committed rows in order, once each."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.events.models import OutboxEvent
from shared.events.outbox import record_event
from shared.events.streams import Event
from workers.relay import publish_pending


def test_committed_events_are_published_in_order_and_marked(db, redis_client, settings):
    with db.session() as session:
        for n in range(5):
            record_event(session, "job.progress", "job-1", {"n": n})
    assert publish_pending(db, redis_client, settings) == 5
    assert publish_pending(db, redis_client, settings) == 0
    published = [Event.from_fields(fields) for _, fields in redis_client.xrange("events:jobs")]
    assert [e.payload["n"] for e in published] == [0, 1, 2, 3, 4]
    with db.session() as session:
        assert session.scalar(select(func.count()).where(OutboxEvent.published_at.is_(None))) == 0


def test_a_rolled_back_transaction_publishes_nothing(db, redis_client, settings):
    try:
        with db.session() as session:
            record_event(session, "job.progress", "job-1", {})
            raise RuntimeError("the request failed after writing")
    except RuntimeError:
        pass
    assert publish_pending(db, redis_client, settings) == 0
    assert redis_client.exists("events:jobs") == 0


def test_a_submissions_events_are_also_copied_to_its_own_short_stream_that_expires(db, redis_client, settings):
    from shared.submissions import live

    with db.session() as session:
        for n in range(3):
            record_event(session, "submission.status", "sub-a", {"n": n})
        record_event(session, "submission.status", "sub-b", {"n": 9})
        record_event(session, "job.progress", "sub-a", {"n": 7})
    assert publish_pending(db, redis_client, settings) == 5
    assert redis_client.xlen("events:submissions") == 4  # the dispatcher's stream: every submission
    mine = [Event.from_fields(fields) for _, fields in redis_client.xrange(live.stream_of("sub-a"))]
    assert [(e.type, e.payload["n"]) for e in mine] == [("submission.status", n) for n in range(3)]
    assert 0 < redis_client.ttl(live.stream_of("sub-a")) <= settings.WATCH_STREAM_TTL
    assert redis_client.xlen(live.stream_of("sub-b")) == 1
    assert live.newest_entry_id(redis_client, "sub-a") == redis_client.xrevrange(live.stream_of("sub-a"))[0][0].decode()
    assert live.newest_entry_id(redis_client, "sub-c") == "0-0"
