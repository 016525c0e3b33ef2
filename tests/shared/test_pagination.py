"""The shared page helper of new list endpoints."""

from __future__ import annotations

from sqlalchemy import select

from shared.events.models import OutboxEvent
from shared.events.outbox import record_event
from shared.pagination import MAX_PER_PAGE, paginate


def test_paginate_returns_one_ordered_page_and_the_total(db):
    with db.session() as session:
        for n in range(7):
            record_event(session, "job.progress", f"job-{n}", {"n": n})
    query = select(OutboxEvent).order_by(OutboxEvent.id)

    with db.session() as session:
        second = paginate(session, query, page=2, per_page=3)
        beyond = paginate(session, query, page=9, per_page=3)
        clamped = paginate(session, query, page=0, per_page=10_000)
        body = second.as_dict(lambda row: row.payload["n"])

    assert body == {"items": [3, 4, 5], "total": 7, "page": 2, "per_page": 3}
    assert (beyond.items, beyond.total) == ([], 7)
    assert (clamped.page, clamped.per_page, len(clamped.items)) == (1, MAX_PER_PAGE, 7)
