"""Webhook deliveries: made from job events, sent from the light queue, retried for ~3 days.

- One delivery per (event, callback URL); its id is the ``webhook-id`` of every attempt.
- Its ``sequence`` is the one the job's outcome took when it was committed, so a late
  ``job.failed`` of run 1 never outranks the ``job.done`` of run 2.
- Attempts are claimed in a short transaction, sent outside any transaction, and their
  outcome recorded in another: a slow receiver never holds a database lock, and an
  attempt whose worker died mid-send is taken up again once its claim runs out.
- The schedule (SCHEDULE) spreads 13 attempts over about 3.2 days, each delay with
  ±10% jitter; ``429``/``503`` with ``Retry-After`` set the next delay instead; ``410``
  disables the endpoint; 3xx counts as a failure (never followed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from shared.db import Database, utcnow
from shared.events.models import OutboxEvent
from shared.events.outbox import record_event
from shared.jobs.errors import JobNotFound
from shared.jobs.models import JobStatus, MediaJob
from shared.jobs.service import StorageResolver, job_document, job_view
from shared.netsafe import UnsafeTarget
from shared.settings import Settings
from shared.tenants.errors import InvalidWebhookSecret
from shared.tenants.service import signing_secrets
from shared.webhooks import sender
from shared.webhooks.errors import DeliveryInProgress, DeliveryNotFound
from shared.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from shared.webhooks.signing import signature_headers

log = logging.getLogger(__name__)

# Seconds before attempt 2, 3, ...: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h.
SCHEDULE: tuple[int, ...] = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600) + (10 * 3600,) * 7
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.10
MAX_RETRY_AFTER = 24 * 3600
# A claimed attempt whose worker vanished is taken up again this long after its timeout.
CLAIM_GRACE = timedelta(seconds=60)
WEBHOOK_EVENTS = frozenset({"job.done", "job.failed"})
REDELIVERY_EVENT = "job.webhook_redelivery"


@dataclass
class WebhookContext:
    db: Database
    settings: Settings
    storages: StorageResolver
    clock: Callable[[], datetime] = utcnow
    send: Callable[..., sender.SendResult] = sender.post
    resolve: Callable[..., Any] = socket.getaddrinfo
    rng: random.Random = field(default_factory=random.Random)


@dataclass(frozen=True)
class Outcome:
    """What an attempt call did and, when another attempt is due, its number and delay."""

    status: str | None
    next_attempt: int | None = None
    delay_seconds: float = 0.0


# ---- making deliveries -------------------------------------------------------------------

def deliveries_for_event(ctx: WebhookContext, event_id: str | uuid.UUID, event_type: str,
                         job_id: str | uuid.UUID) -> WebhookDelivery | None:
    """Record the delivery of a job event to the job's callback URL (once per event); None without one."""
    if event_type not in WEBHOOK_EVENTS:
        return None
    event_id, job_id = uuid.UUID(str(event_id)), uuid.UUID(str(job_id))
    try:
        return _make_delivery(ctx, event_id, event_type, job_id)
    except IntegrityError:
        # The same event handled twice at once: the other one recorded it.
        with ctx.db.session() as session:
            return session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)).one()


def record_outcome_delivery(session, job: MediaJob, event: OutboxEvent) -> WebhookDelivery | None:
    """Record the delivery of a job's outcome event in the transaction that commits both; None without a callback.

    The row is due at once, so if the message that makes its first attempt is lost (the
    dispatcher's, or Redis's), it is an overdue attempt and the webhook sweep sends it again.
    """
    if event.type not in WEBHOOK_EVENTS or not job.callback_url:
        return None
    return _new_delivery(session, job, event.event_id, event.type, event.payload["sequence"], utcnow())


def _make_delivery(ctx: WebhookContext, event_id: uuid.UUID, event_type: str,
                   job_id: uuid.UUID) -> WebhookDelivery | None:
    """The delivery of an event its outcome's transaction did not record (committed before it did)."""
    with ctx.db.session() as session:
        existing = session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)).one_or_none()
        if existing is not None:
            return existing
        job = session.get(MediaJob, job_id, with_for_update=True)
        if job is None or not job.callback_url:
            return None
        sequence = _event_sequence(session, event_id) or _late_sequence(session, job)
        return _new_delivery(session, job, event_id, event_type, sequence, ctx.clock())


def _new_delivery(session, job: MediaJob, event_id: uuid.UUID, event_type: str, sequence: int,
                  now: datetime) -> WebhookDelivery:
    endpoint = _endpoint(session, job.tenant_id, job.callback_url)
    snapshot = job_document(job)  # links are signed afresh at each attempt: they expire, retries last days
    status = _event_status(event_type)
    delivery = WebhookDelivery(
        id=uuid.uuid4(), tenant_id=job.tenant_id, job_id=job.id, endpoint_id=endpoint.id, event_id=event_id,
        event_type=event_type, sequence=sequence, url=job.callback_url,
        payload={"job_id": str(job.id), "status": status, "sequence": sequence, "job": snapshot},
        status=(DeliveryStatus.DISABLED if endpoint.disabled_at else DeliveryStatus.PENDING).value,
        round=1, attempts=0, next_attempt_at=None if endpoint.disabled_at else now,
        last_error="endpoint_disabled" if endpoint.disabled_at else None, log=[], created_at=now,
        updated_at=now)
    session.add(delivery)
    return delivery


def _event_sequence(session, event_id: uuid.UUID) -> int | None:
    """The sequence the outcome took when it was committed (shared.jobs.service.event_payload)."""
    payload = session.scalar(select(OutboxEvent.payload).where(OutboxEvent.event_id == event_id))
    sequence = (payload or {}).get("sequence")
    return sequence if isinstance(sequence, int) and sequence > 0 else None


def _late_sequence(session, job: MediaJob) -> int:
    """A sequence for an event that carries none (recorded before sequences did, or pruned): the next one."""
    highest = session.scalar(select(func.max(WebhookDelivery.sequence)).where(WebhookDelivery.job_id == job.id))
    job.outcome_sequence = max(highest or 0, job.outcome_sequence or 0) + 1
    return job.outcome_sequence


def _endpoint(session, tenant_id: uuid.UUID, url: str) -> WebhookEndpoint:
    url_hash = hashlib.sha256(url.encode()).hexdigest()
    query = select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.url_hash == url_hash)
    endpoint = session.scalars(query).one_or_none()
    if endpoint is None:
        try:
            with session.begin_nested():
                endpoint = WebhookEndpoint(id=uuid.uuid4(), tenant_id=tenant_id, url=url, url_hash=url_hash,
                                           created_at=utcnow())
                session.add(endpoint)
        except IntegrityError:
            endpoint = session.scalars(query).one()
    return endpoint


def _event_status(event_type: str) -> str:
    return {"job.done": JobStatus.DONE.value, "job.failed": JobStatus.FAILED.value}[event_type]


# ---- attempts ----------------------------------------------------------------------------

def attempt_delivery(ctx: WebhookContext, delivery_id: str | uuid.UUID, round_: int, attempt: int) -> Outcome:
    """Make attempt number ``attempt`` of a delivery's round, if it is (still) due; idempotent.

    A duplicate or late message finds the delivery past that attempt and does nothing;
    one that comes early returns the remaining delay so the caller can wait again.
    """
    delivery_id = uuid.UUID(str(delivery_id))
    claimed = _claim(ctx, delivery_id, round_, attempt)
    if isinstance(claimed, Outcome):
        return claimed
    delivery, url, payload = claimed
    body = _body(ctx, delivery, payload)
    try:
        # webhook-timestamp is when the request really leaves: receivers compare it with their clock.
        headers = signature_headers(delivery.webhook_id, int(time.time()), body,
                                    signing_secrets(ctx.db, ctx.settings, delivery.tenant_id))
    except InvalidWebhookSecret:
        # A malformed WEBHOOK_SECRET: nothing unsigned leaves; retried once ops fix the setting.
        log.error("webhook secrets of tenant %s are malformed; delivery %s not sent", delivery.tenant_id,
                  delivery.id)
        return _record(ctx, delivery_id, round_, attempt, sender.SendResult(None, InvalidWebhookSecret.code, 0))
    try:
        result = ctx.send(url, body, headers, timeout=ctx.settings.WEBHOOK_TIMEOUT,
                          allow_private=ctx.settings.WEBHOOK_ALLOW_PRIVATE_TARGETS, resolve=ctx.resolve)
    except UnsafeTarget as refused:
        result = sender.SendResult(None, refused.code, 0)
    return _record(ctx, delivery_id, round_, attempt, result)


def _claim(ctx: WebhookContext, delivery_id: uuid.UUID, round_: int, attempt: int):
    now = ctx.clock()
    with ctx.db.session() as session:
        delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.round != round_:
            return Outcome(None)
        if delivery.status == DeliveryStatus.PENDING.value and delivery.attempts == attempt - 1:
            due = delivery.next_attempt_at or now
            if due > now + timedelta(seconds=1):
                return Outcome(delivery.status, attempt, (due - now).total_seconds())
        elif not (delivery.status == DeliveryStatus.SENDING.value and delivery.attempts == attempt
                  and delivery.claimed_until is not None and delivery.claimed_until <= now):
            return Outcome(delivery.status)
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is not None and endpoint.disabled_at is not None:
            delivery.status = DeliveryStatus.DISABLED.value
            delivery.last_error = "endpoint_disabled"
            delivery.next_attempt_at = None
            delivery.updated_at = now
            return Outcome(delivery.status)
        delivery.status = DeliveryStatus.SENDING.value
        delivery.attempts = attempt
        delivery.claimed_until = now + timedelta(seconds=ctx.settings.WEBHOOK_TIMEOUT) + CLAIM_GRACE
        delivery.updated_at = now
        return delivery, delivery.url, dict(delivery.payload)


def _body(ctx: WebhookContext, delivery: WebhookDelivery, payload: dict[str, Any]) -> bytes:
    job_snapshot = dict(payload.get("job") or {})
    if delivery.event_type == "job.done":
        with ctx.db.session() as session:
            job = session.get(MediaJob, delivery.job_id)
        if job is not None and job.status == JobStatus.DONE.value:
            job_snapshot["result_urls"] = job_view(job, ctx.storages(job), ctx.settings)["result_urls"]
    document = {"type": delivery.event_type, "timestamp": delivery.created_at.isoformat(),
                **payload, "job": job_snapshot}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _record(ctx: WebhookContext, delivery_id: uuid.UUID, round_: int, attempt: int,
            result: sender.SendResult) -> Outcome:
    now = ctx.clock()
    with ctx.db.session() as session:
        delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if (delivery is None or delivery.round != round_ or delivery.attempts != attempt
                or delivery.status != DeliveryStatus.SENDING.value):
            return Outcome(delivery.status if delivery else None)  # a re-delivery took over meanwhile
        delivery.log = [*delivery.log, {"round": round_, "attempt": attempt, "at": now.isoformat(),
                                        "status_code": result.status_code, "error": result.error,
                                        "duration_ms": result.duration_ms}]
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error if result.error else (
            None if result.ok else f"http_{result.status_code}")
        delivery.claimed_until = None
        delivery.updated_at = now
        outcome = _next(ctx, delivery, result, attempt, now)
        if result.status_code == 410:
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id, with_for_update=True)
            if endpoint is not None:
                endpoint.disabled_at, endpoint.disabled_reason = now, "the receiver answered 410 Gone"
        return outcome


def _next(ctx: WebhookContext, delivery: WebhookDelivery, result: sender.SendResult, attempt: int,
          now: datetime) -> Outcome:
    if result.ok:
        delivery.status = DeliveryStatus.DELIVERED.value
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        return Outcome(delivery.status)
    if result.status_code == 410:
        delivery.status = DeliveryStatus.DISABLED.value
        delivery.next_attempt_at = None
        return Outcome(delivery.status)
    if result.error == UnsafeTarget.code or attempt >= MAX_ATTEMPTS:
        # A refused address is not retried: the URL leads somewhere it must never lead.
        delivery.status = DeliveryStatus.FAILED.value
        delivery.next_attempt_at = None
        return Outcome(delivery.status)
    delay = SCHEDULE[attempt - 1] * ctx.rng.uniform(1 - JITTER, 1 + JITTER)
    if result.status_code in (429, 503) and result.retry_after is not None:
        delay = min(max(result.retry_after, 1.0), MAX_RETRY_AFTER)
    delivery.status = DeliveryStatus.PENDING.value
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    return Outcome(delivery.status, attempt + 1, delay)


def due_attempts(ctx: WebhookContext, *, grace: timedelta = timedelta(minutes=2),
                 limit: int = 500) -> list[tuple[uuid.UUID, int, int]]:
    """(delivery, round, attempt) overdue by more than ``grace``: their message was lost; send again."""
    now = ctx.clock()
    with ctx.db.session() as session:
        rows = session.execute(select(WebhookDelivery.id, WebhookDelivery.round, WebhookDelivery.attempts,
                                      WebhookDelivery.status).where(or_(
            (WebhookDelivery.status == DeliveryStatus.PENDING.value) & (WebhookDelivery.next_attempt_at <= now - grace),
            (WebhookDelivery.status == DeliveryStatus.SENDING.value) & (WebhookDelivery.claimed_until <= now - grace),
        )).order_by(WebhookDelivery.next_attempt_at).limit(limit)).all()
    return [(row.id, row.round, row.attempts + (1 if row.status == DeliveryStatus.PENDING.value else 0))
            for row in rows]


def resend_lost_attempts(ctx: WebhookContext, send: Callable[[str, int, int], None]) -> dict[str, int]:
    """The webhook sweep: hand each overdue attempt to ``send(delivery_id, round, attempt)`` again.

    ``send`` enqueues one attempt; the worker side passes its delivery actor's ``send``.
    """
    due = due_attempts(ctx)
    for delivery_id, round_, attempt in due:
        send(str(delivery_id), round_, attempt)
    return {"resent": len(due)}


# ---- the delivery log and re-delivery (API) ---------------------------------------------------

def list_deliveries(db: Database, tenant_id: uuid.UUID, job_id: uuid.UUID) -> list[WebhookDelivery]:
    """The deliveries of a tenant's job, oldest first; JobNotFound for other tenants' jobs."""
    with db.session() as session:
        job = session.get(MediaJob, job_id)
        if job is None or job.tenant_id != tenant_id:
            raise JobNotFound(f"no media job {job_id}")
        return list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id)
                                    .order_by(WebhookDelivery.sequence)))


def redeliver(db: Database, tenant_id: uuid.UUID, job_id: uuid.UUID, delivery_id: uuid.UUID, *,
              now: datetime | None = None) -> WebhookDelivery:
    """Start a new round of attempts (same ``webhook-id``, fresh schedule) and turn the endpoint on again.

    The first attempt is made by the light queue after the commit (outbox event
    ``job.webhook_redelivery``). Raises ``delivery_not_found`` and
    ``delivery_in_progress`` (an attempt is being sent right now).
    """
    now = now or utcnow()
    with db.session() as session:
        delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.tenant_id != tenant_id or delivery.job_id != job_id:
            raise DeliveryNotFound(f"no webhook delivery {delivery_id} for this job")
        if delivery.status == DeliveryStatus.SENDING.value and (delivery.claimed_until or now) > now:
            raise DeliveryInProgress("an attempt of this delivery is being sent; try again in a moment")
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id, with_for_update=True)
        if endpoint is not None and endpoint.disabled_at is not None:
            endpoint.disabled_at = endpoint.disabled_reason = None
        delivery.round += 1
        delivery.attempts = 0
        delivery.status = DeliveryStatus.PENDING.value
        delivery.next_attempt_at = now
        delivery.claimed_until = None
        delivery.updated_at = now
        record_event(session, REDELIVERY_EVENT, job_id, {"job_id": str(job_id), "delivery_id": str(delivery.id),
                                                         "round": delivery.round})
        return delivery


def delivery_view(delivery: WebhookDelivery) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "id": str(delivery.id), "webhook_id": delivery.webhook_id, "event_type": delivery.event_type,
        "sequence": delivery.sequence, "url": delivery.url, "status": delivery.status, "round": delivery.round,
        "attempts": delivery.attempts, "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error, "next_attempt_at": iso(delivery.next_attempt_at),
        "created_at": iso(delivery.created_at), "delivered_at": iso(delivery.delivered_at),
        "log": list(delivery.log),
    }
