"""Schemas of the webhook delivery log."""

from marshmallow import fields

from api.schemas import Schema


class Attempt(Schema):
    round = fields.Integer()
    attempt = fields.Integer()
    at = fields.String()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True, metadata={
        "description": "timeout, connection_failed, tls_error, bad_response, callback_url_not_allowed, "
                       "callback_url_unresolvable; null when the receiver answered"})
    duration_ms = fields.Integer()


class Delivery(Schema):
    id = fields.UUID()
    webhook_id = fields.String(metadata={"description": "The webhook-id header: the same on every attempt"})
    event_type = fields.String(metadata={"enum": ["job.done", "job.failed"]})
    sequence = fields.Integer(metadata={"description": "1, 2, 3 ... per job, in the order its outcomes happened"})
    url = fields.String()
    status = fields.String(metadata={"enum": ["pending", "sending", "delivered", "failed", "disabled"]})
    round = fields.Integer(metadata={"description": "1, plus one per re-delivery"})
    attempts = fields.Integer(metadata={"description": "Attempts in the current round"})
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.String(allow_none=True)
    created_at = fields.String()
    delivered_at = fields.String(allow_none=True)
    log = fields.List(fields.Nested(Attempt))
