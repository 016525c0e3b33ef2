"""Submissions of the paid profile flow (SPEC 4.2): create, pay, status, live events."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import redis
from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_wallet
from api.errors import DEPENDENCY_RETRY_AFTER_SECONDS
from api.submissions import schemas
from shared.errors import ServiceUnavailable
from shared.payments.chain import chain_from_settings
from shared.pipeline.ledger import fresh_step
from shared.redis_client import get_redis
from shared.submissions import expiry, live, payment, pipeline, service
from shared.submissions.errors import TooManyStreams
from shared.submissions.models import PIPELINE_STEPS, Submission

blp = Blueprint("submissions", __name__, url_prefix="/api/submissions", description="Paid profile submissions")

_slots_lock = threading.Lock()
log = logging.getLogger(__name__)


def context() -> service.SubmissionContext:
    app = current_app
    if "showreel.submissions" not in app.extensions:
        settings = app.config["SETTINGS"]
        app.extensions["showreel.submissions"] = service.SubmissionContext(
            db=app.extensions["showreel.db"], settings=settings, chain=lambda: chain_from_settings(settings),
            storage=lambda: app.extensions["showreel.default_storage"])
    return app.extensions["showreel.submissions"]


def submission_view(row: Submission) -> dict[str, Any]:
    base = current_app.config["SETTINGS"].PUBLIC_BASE_URL.rstrip("/")
    return {
        "id": row.id, "wallet": row.wallet, "status": row.status,
        "steps": {step: dict(row.steps.get(step) or fresh_step())
                  for step in PIPELINE_STEPS},
        "quote": service.quote_view(row), "payment": service.status_payload(row)["payment"],
        "payment_error": row.payment_error,
        "error": {"code": row.error_code, "message": row.error_message} if row.error_code else None,
        "profile_data": row.profile_data,
        "profile_url": f"{base}/api/profiles/{row.wallet}/" if row.status == "published" else None,
        "events_url": f"{base}/api/submissions/{row.id}/events/",
        "created_at": row.created_at, "updated_at": row.updated_at, "paid_at": row.paid_at,
        "published_at": row.published_at,
    }


@blp.route("/")
class Submissions(MethodView):
    @blp.arguments(schemas.CreateSubmission)
    @blp.response(201, schemas.CreatedSubmission)
    def post(self, body):
        """Create a submission from the form and two uploads; answers the quote to pay (wallet token)."""
        wallet = current_wallet()
        row = service.create_submission(context(), wallet, body["profile_data"],
                                        image_upload_id=body["image_upload_id"],
                                        video_upload_id=body["video_upload_id"])
        return {"id": row.id, "status": row.status, "payment": service.quote_view(row)}


@blp.route("/<uuid:submission_id>/")
class SubmissionView(MethodView):
    @blp.response(200, schemas.Submission)
    def get(self, submission_id: uuid.UUID):
        """Status, per-step state, payment and error of the caller's submission."""
        ctx = context()
        wallet = current_wallet()
        service.get_submission(ctx.db, submission_id, wallet)
        expiry.expire_if_stale(ctx.db, ctx.settings, submission_id)
        return submission_view(service.get_submission(ctx.db, submission_id, wallet))


@blp.route("/<uuid:submission_id>/payment/")
class Payment(MethodView):
    @blp.arguments(schemas.PaymentBody)
    @blp.response(202, schemas.PaymentAccepted)
    @blp.alt_response(402, description="payment_underpaid, payment_wrong_sender, ... : the transaction cannot pay")
    @blp.alt_response(409, description="tx_already_used, payment_not_expected")
    @blp.alt_response(429, description="too_many_pending_payments (with Retry-After): post the same hash again later")
    def post(self, body, submission_id: uuid.UUID):
        """Post the tx hash of the payment; it is read on chain before it is claimed (402/409/429 when refused)."""
        row = payment.post_payment(context(), submission_id, current_wallet(), body["tx_hash"])
        return {"id": row.id, "status": row.status, "payment": service.status_payload(row)["payment"]}


@blp.route("/<uuid:submission_id>/retry/")
class Retry(MethodView):
    @blp.response(202, schemas.Submission)
    def post(self, submission_id: uuid.UUID):
        """Process a paid submission that failed on transient errors again, without paying again
        (409 ``submission_not_retryable`` otherwise)."""
        pipeline.retry_submission(context(), submission_id, current_wallet())
        return submission_view(service.get_submission(context().db, submission_id))


@blp.route("/<uuid:submission_id>/events/")
class Events(MethodView):
    @blp.response(200, content_type="text/event-stream",
                  description="Server-Sent Events: one 'status' event per change; resumable with Last-Event-ID")
    def get(self, submission_id: uuid.UUID):
        """Live status changes of the caller's submission, from the event stream."""
        ctx = context()
        wallet = current_wallet()
        row = service.get_submission(ctx.db, submission_id, wallet)  # the session is closed here
        settings = ctx.settings
        client = get_redis(settings)
        slots = _stream_slots(settings.SSE_MAX_STREAMS)
        if not slots.acquire(blocking=False):
            raise TooManyStreams("try again shortly, or poll GET /api/submissions/{id}/", retry_after=5)
        try:
            stream = _take_wallet_stream(client, wallet, settings)
        except BaseException:
            slots.release()
            raise

        def release() -> None:
            slots.release()
            _give_back_wallet_stream(client, wallet, stream)

        try:
            resume_after = live.valid_entry_id(request.headers.get("Last-Event-ID")
                                               or request.args.get("last_event_id"))
            first: list[str] = []
            if resume_after is None:
                # Where the stream is now, then the row: nothing between the two is missed.
                resume_after = live.newest_entry_id(client, submission_id)
                row = service.get_submission(ctx.db, submission_id)
                first.append(live.sse("status", {"type": "snapshot", **service.status_payload(row)}, resume_after))
        except BaseException:
            release()
            raise

        def generate():
            try:
                yield "retry: 2000\n\n"
                yield from first
                if first and row.is_final:
                    return
                yield from live.follow(client, submission_id, resume_after,
                                       until=time.monotonic() + settings.SSE_MAX_SECONDS)
            except redis.RedisError as exc:
                # Too late for a 503: end the stream; the browser reconnects after ``retry`` and
                # is answered 503 with Retry-After while Redis stays down.
                log.warning("live-status stream of %s ended: Redis unavailable (%s)", submission_id, exc)
            finally:
                release()

        return Response(generate(), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _wallet_streams_key(wallet: str) -> str:
    return f"showreel:sse-streams:{wallet}"


# How long past SSE_MAX_SECONDS a stream's slot outlives a process that died without giving it back.
_STREAM_GRACE_SECONDS = 60


def _take_wallet_stream(client, wallet: str, settings) -> str:
    """Count one more open stream of ``wallet`` over every web process; refuse past the cap.

    Each stream is a member of a sorted set scored with the time it ends at the latest, so
    the streams of a process that died expire one by one: a browser reconnecting (and refused)
    never keeps them alive. Returns the stream's member, for :func:`_give_back_wallet_stream`.
    """
    key, stream = _wallet_streams_key(wallet), uuid.uuid4().hex
    now, lifetime = time.time(), settings.SSE_MAX_SECONDS + _STREAM_GRACE_SECONDS
    try:
        with client.pipeline() as pipe:
            pipe.zremrangebyscore(key, "-inf", now).zadd(key, {stream: now + lifetime})
            open_now = pipe.zcard(key).expire(key, int(lifetime) + 1).execute()[2]
    except redis.RedisError as exc:
        raise ServiceUnavailable(f"Redis is unreachable ({type(exc).__name__}); try again",
                                 retry_after=DEPENDENCY_RETRY_AFTER_SECONDS) from None
    if open_now > settings.SSE_MAX_STREAMS_PER_WALLET:
        _give_back_wallet_stream(client, wallet, stream)
        raise TooManyStreams(f"this wallet has {settings.SSE_MAX_STREAMS_PER_WALLET} live-status streams open; "
                             "close one, or poll GET /api/submissions/{id}/", retry_after=5)
    return stream


def _give_back_wallet_stream(client, wallet: str, stream: str) -> None:
    try:
        client.zrem(_wallet_streams_key(wallet), stream)
    except redis.RedisError:  # the member expires anyway
        log.warning("could not release a live-status stream of %s", wallet, exc_info=True)


def _stream_slots(size: int) -> threading.BoundedSemaphore:
    app = current_app
    with _slots_lock:
        slots = app.extensions.get("showreel.sse_slots")
        if slots is None:
            slots = app.extensions["showreel.sse_slots"] = threading.BoundedSemaphore(max(1, size))
    return slots
