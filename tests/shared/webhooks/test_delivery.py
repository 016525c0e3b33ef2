"""Webhook delivery rules, on a fake clock: schedule, same webhook-id, 410, 429, 3xx, timeouts."""

from __future__ import annotations

import itertools
import json
import time
import uuid

import pytest
from standardwebhooks.webhooks import Webhook

from shared.webhooks.models import WebhookDelivery, WebhookEndpoint
from shared.webhooks.service import (
    MAX_ATTEMPTS,
    SCHEDULE,
    attempt_delivery,
    deliveries_for_event,
    due_attempts,
    redeliver,
    resend_lost_attempts,
)
from tests.support.webhooks import CountingListener, Reply, WebhookReceiver

from .conftest import make_job


def _deliver_until_settled(ctx, clock, delivery_id, round_=1):
    """Run attempts as the light queue would, jumping the fake clock to each next attempt."""
    attempt, made = 1, []
    while attempt is not None:
        made.append(clock.now)
        outcome = attempt_delivery(ctx, delivery_id, round_, attempt)
        if outcome.next_attempt is None:
            return made, outcome
        clock.advance(outcome.delay_seconds)
        attempt = outcome.next_attempt
    return made, None


def _row(db, delivery_id) -> WebhookDelivery:
    with db.session() as session:
        return session.get(WebhookDelivery, delivery_id)


def test_a_delivered_webhook_carries_the_job_and_verifies(ctx, db, secret):
    with WebhookReceiver() as receiver:
        job = make_job(db, receiver.url)
        delivery = deliveries_for_event(ctx, uuid.uuid4(), "job.done", job.id)
        outcome = attempt_delivery(ctx, delivery.id, 1, 1)
        [got] = receiver.received

    payload = Webhook(secret).verify(got.body, got.headers)
    assert outcome.status == "delivered" and outcome.next_attempt is None
    assert (payload["type"], payload["job_id"], payload["status"], payload["sequence"]) == (
        "job.done", str(job.id), "done", 1)
    assert payload["job"]["id"] == str(job.id) and payload["job"]["file_name"] == "holiday.png"
    assert got.headers["webhook-id"] == f"msg_{delivery.id.hex}"
    assert got.headers["content-type"] == "application/json"
    row = _row(db, delivery.id)
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
    assert [entry["status_code"] for entry in row.log] == [200]


def test_a_receiver_answering_500_is_retried_on_schedule_for_about_three_days_with_one_webhook_id(ctx, db, clock):
    with WebhookReceiver(Reply(500, body=b"boom")) as receiver:
        job = make_job(db, receiver.url)
        delivery = deliveries_for_event(ctx, uuid.uuid4(), "job.done", job.id)
        made, outcome = _deliver_until_settled(ctx, clock, delivery.id)
        received = receiver.received

    assert len(received) == len(made) == MAX_ATTEMPTS == 13
    assert {r.headers["webhook-id"] for r in received} == {f"msg_{delivery.id.hex}"}
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(made)]
    for gap, planned in zip(gaps, SCHEDULE):
        assert planned * 0.9 <= gap <= planned * 1.1, (gap, planned)
    assert gaps[:2] != [5, 300]  # jittered, not exact
    assert 2.8 <= (made[-1] - made[0]).total_seconds() / 86400 <= 3.6
    row = _row(db, delivery.id)
    assert outcome.status == "failed"
    assert (row.status, row.attempts, row.next_attempt_at, row.last_error) == ("failed", 13, None, "http_500")
    assert [entry["attempt"] for entry in row.log] == list(range(1, 14))


def test_an_attempt_is_made_once_however_often_its_message_arrives(ctx, db, clock):
    with WebhookReceiver(Reply(500)) as receiver:
        job = make_job(db, receiver.url)
        delivery = deliveries_for_event(ctx, uuid.uuid4(), "job.failed", job.id)
        first = attempt_delivery(ctx, delivery.id, 1, 1)
        assert attempt_delivery(ctx, delivery.id, 1, 1).next_attempt is None  # a duplicate of attempt 1
        early = attempt_delivery(ctx, delivery.id, 1, 2)  # attempt 2 before its time
        clock.advance(first.delay_seconds)
        attempt_delivery(ctx, delivery.id, 1, 2)
        attempt_delivery(ctx, delivery.id, 1, 2)
        count = len(receiver.received)

    assert count == 2
    assert early.next_attempt == 2 and 0 < early.delay_seconds <= first.delay_seconds


def test_the_same_event_makes_one_delivery_and_each_event_of_a_job_the_next_sequence(ctx, db):
    job = make_job(db, "http://127.0.0.1:9/hook")
    event = uuid.uuid4()

    first = deliveries_for_event(ctx, event, "job.failed", job.id)
    again = deliveries_for_event(ctx, event, "job.failed", job.id)
    second = deliveries_for_event(ctx, uuid.uuid4(), "job.done", job.id)

    assert first.id == again.id
    assert (first.sequence, second.sequence) == (1, 2)
    assert (first.payload["status"], second.payload["status"]) == ("failed", "done")
    assert deliveries_for_event(ctx, uuid.uuid4(), "job.done", make_job(db, None).id) is None


def test_410_disables_the_endpoint_and_a_redelivery_turns_it_on_again(ctx, db, clock):
    replies = [Reply(410), Reply(200)]
    with WebhookReceiver(lambda _got: replies.pop(0)) as receiver:
        job = make_job(db, receiver.url)
        gone = deliveries_for_event(ctx, uuid.uuid4(), "job.failed", job.id)
        assert attempt_delivery(ctx, gone.id, 1, 1).status == "disabled"
        later = deliveries_for_event(ctx, uuid.uuid4(), "job.done", job.id)
        assert later.status == "disabled"
        assert attempt_delivery(ctx, later.id, 1, 1).next_attempt is None
        assert len(receiver.received) == 1

        redeliver(db, job.tenant_id, job.id, gone.id, now=clock.now)
        outcome = attempt_delivery(ctx, gone.id, 2, 1)
        ids = [r.headers["webhook-id"] for r in receiver.received]

    assert outcome.status == "delivered"
    assert ids == [f"msg_{gone.id.hex}"] * 2
    with db.session() as session:
        assert session.get(WebhookEndpoint, gone.endpoint_id).disabled_at is None
    row = _row(db, gone.id)
    assert (row.round, row.attempts, [e["status_code"] for e in row.log]) == (2, 1, [410, 200])


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_sets_the_next_attempt(ctx, db, clock, status):
    with WebhookReceiver(Reply(status, {"Retry-After": "120"})) as receiver:
        job = make_job(db, receiver.url)
        delivery = deliveries_for_event(ctx, uuid.uuid4(), "job.done", job.id)
        outcome = attempt_delivery(ctx, delivery.id, 1, 1)

    assert (outcome.next_attempt, outcome.delay_seconds) == (2, 120)
    assert (_row(db, delivery.id).next_attempt_at - clock.now).total_seconds() == 120


def test_a_302_is_a_failed_attempt_and_is_not_followed(ctx, db):
    with CountingListener() as internal:
        redirect = Reply(302, {"Location": f"http://127.0.0.1:{internal.port}/"})
        with WebhookReceiver(redirect) as receiver:
            job = make_job(db, receiver.url)
            delivery = deliveries_for_event(ctx, uuid.uuid4(), "job.done", job.id)
            outcome = attempt_delivery(ctx, delivery.id, 1, 1)

    assert outcome.next_attempt == 2
    assert _row(db, delivery.id).last_error == "http_302"
    assert internal.connections == 0


def test_an_internal_target_is_refused_at_send_time_when_private_targets_are_off(ctx, db):
    strict = ctx.settings.replace(WEBHOOK_ALLOW_PRIVATE_TARGETS=False)
    with CountingListener() as internal:
        job = make_job(db, f"http://127.0.0.1:{internal.port}/hook")
        delivery = deliveries_for_event(ctx, uuid.uuid4(), "job.done", job.id)
        ctx.settings = strict
        outcome = attempt_delivery(ctx, delivery.id, 1, 1)

    assert outcome.status == "failed" and outcome.next_attempt is None
    assert _row(db, delivery.id).last_error == "callback_url_not_allowed"
    assert internal.connections == 0


def test_a_hanging_receiver_is_cut_at_webhook_timeout_15_seconds_by_default(ctx, db):
    assert ctx.settings.WEBHOOK_TIMEOUT == 15.0
    ctx.settings = ctx.settings.replace(WEBHOOK_TIMEOUT=2.0)  # the same cut, without 15 s of the suite's time
    with WebhookReceiver(Reply(200, hang_seconds=10)) as receiver:
        job = make_job(db, receiver.url)
        delivery = deliveries_for_event(ctx, uuid.uuid4(), "job.done", job.id)
        started = time.monotonic()
        outcome = attempt_delivery(ctx, delivery.id, 1, 1)
        took = time.monotonic() - started

    assert 1.5 <= took <= 4
    assert outcome.next_attempt == 2
    assert _row(db, delivery.id).last_error == "timeout"


def test_attempts_whose_message_was_lost_are_found_by_the_sweep(ctx, db, clock):
    job = make_job(db, "http://127.0.0.1:9/hook")
    delivery = deliveries_for_event(ctx, uuid.uuid4(), "job.done", job.id)

    assert due_attempts(ctx) == []
    clock.advance(600)
    assert due_attempts(ctx) == [(delivery.id, 1, 1)]


def test_the_sweep_hands_each_lost_attempt_to_the_sender_it_is_given(ctx, db, clock):
    job = make_job(db, "http://127.0.0.1:9/hook")
    delivery = deliveries_for_event(ctx, uuid.uuid4(), "job.done", job.id)
    sent = []
    clock.advance(600)

    report = resend_lost_attempts(ctx, lambda *message: sent.append(message))

    assert report == {"resent": 1}
    assert sent == [(str(delivery.id), 1, 1)]


def test_the_body_is_compact_json_with_fresh_result_links(ctx, db):
    with WebhookReceiver() as receiver:
        job = make_job(db, receiver.url)
        delivery = deliveries_for_event(ctx, uuid.uuid4(), "job.done", job.id)
        attempt_delivery(ctx, delivery.id, 1, 1)
        body = receiver.received[0].body

    document = json.loads(body)
    assert b": " not in body
    assert set(document) == {"type", "timestamp", "job_id", "status", "sequence", "job"}
    assert document["job"]["result_urls"] == {}


def test_a_malformed_webhook_secret_sends_nothing_unsigned_and_retries_later(ctx, db):
    ctx.settings = ctx.settings.replace(WEBHOOK_SECRET="not-a-whsec-secret")
    with WebhookReceiver() as receiver:
        job = make_job(db, receiver.url)
        delivery = deliveries_for_event(ctx, uuid.uuid4(), "job.done", job.id)
        outcome = attempt_delivery(ctx, delivery.id, 1, 1)
        sent = len(receiver.received)

    assert sent == 0 and outcome.next_attempt == 2
    assert _row(db, delivery.id).last_error == "invalid_webhook_secret"
