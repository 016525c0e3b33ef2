"""The one place errors become RFC 9457 ``application/problem+json`` responses."""

from __future__ import annotations

import logging
import sys
from typing import Any

from flask import Flask, Response, current_app, json, request
from marshmallow import INCLUDE, Schema, fields
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from shared import errors as e
from shared.redis_client import REDIS_UNAVAILABLE
from shared.security import redact_server_paths

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Relative references (RFC 9457 3.1.1): each code is described in docs/ERRORS.md.
PROBLEM_TYPE_BASE = "/problems/"

# Error category -> HTTP status; the most specific class in an error's MRO wins.
STATUS_BY_CATEGORY: dict[type[e.ShowreelError], int] = {
    e.InvalidInput: 400,
    e.Unauthorized: 401,
    e.PaymentRequired: 402,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.Conflict: 409,
    e.Gone: 410,
    e.PayloadTooLarge: 413,
    e.UnsupportedMediaType: 415,
    e.Unprocessable: 422,
    e.RateLimited: 429,
    e.ServiceUnavailable: 503,
    e.InsufficientStorage: 507,
    e.TransientError: 503,
    e.PermanentError: 400,
}

# Werkzeug's own errors (404 for unknown routes, 405, 413 ...) get stable codes too.
CODE_BY_HTTP_STATUS = {
    400: "bad_request", 401: "unauthorized", 402: "payment_required", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 411: "length_required",
    412: "precondition_failed", 413: "file_too_large", 415: "unsupported_media_type",
    422: "validation_error", 429: "rate_limited", 500: "internal_error", 503: "service_unavailable",
}


class Problem(Schema):
    """RFC 9457 problem details: the body of every error response (documentation only)."""

    class Meta:
        # RFC 9457 3.2: problem types may add members; clients must ignore the ones they do not know.
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"description": "/problems/<code>, described in docs/ERRORS.md"})
    title = fields.String(required=True, metadata={"description": "Short summary for people; may change"})
    status = fields.Integer(required=True, metadata={"minimum": 100, "maximum": 599})
    detail = fields.String(required=True, metadata={"description": "This occurrence, for people; may change"})
    code = fields.String(required=True, metadata={"description": "Stable machine code (docs/ERRORS.md)"})
    instance = fields.String(allow_none=True, metadata={"description": "Path of the request"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Validation errors: {field: [messages]}"})
    retry_after = fields.Integer(metadata={"description": "Seconds, as in the Retry-After header"})
    limit = fields.Integer(metadata={"description": "The limit that was hit"})


def status_for(error: e.ShowreelError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_CATEGORY:
            return STATUS_BY_CATEGORY[cls]
    return 500


def problem(status: int, code: str, title: str, detail: str | None = None, **extra: Any) -> Response:
    # A decoder or OS message may name a file under TEMP_DIR: clients never see server paths.
    settings = current_app.config.get("SETTINGS") if current_app else None
    detail = redact_server_paths(detail or title, settings) if settings is not None else detail
    body = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "detail": detail or title,
            "code": code, "instance": request.path if request else None, **extra}
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_CONTENT_TYPE)
    return response


# Every 503 tells the client when to come back: errors that name no time of their own get this.
DEPENDENCY_RETRY_AFTER_SECONDS = 5


def handle_showreel_error(error: e.ShowreelError) -> Response:
    status = status_for(error)
    extra = {k: v for k, v in error.extra.items() if k in {"errors", "retry_after", "limit"}}
    if status == 503 and "retry_after" not in extra:
        extra["retry_after"] = DEPENDENCY_RETRY_AFTER_SECONDS
    response = problem(status, error.code, error.title, error.detail, **extra)
    if "retry_after" in extra:
        response.headers["Retry-After"] = str(int(extra["retry_after"]))
    return response


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code = CODE_BY_HTTP_STATUS.get(status, f"http_{status}")
    data = getattr(error, "data", None) or {}
    extra: dict[str, Any] = {}
    if "messages" in data:
        # webargs/marshmallow validation: {location: {field: [messages]}} -> {field: [messages]}
        extra["errors"] = _flatten_messages(data["messages"])
        code = "validation_error"
    detail = data.get("message") or error.description
    response = problem(status, code, error.name, detail, **extra)
    if status == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


def handle_unexpected(error: Exception) -> Response:
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(error, psycopg.OperationalError):
        return handle_database_unavailable(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, "internal_error", "Internal server error", "an unexpected error happened")


# A lost or refused database connection: the client should retry, not report a bug. A raw
# psycopg.OperationalError is recognised in handle_unexpected (psycopg is not imported for SQLite).
# sa_exc.TimeoutError is the connection pool waiting POOL_TIMEOUT for a free connection (a database
# that answers slowly or not at all holds them): unavailable for now as well, never a 500.
DATABASE_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
                        sa_exc.TimeoutError)


def handle_database_unavailable(error: Exception) -> Response:
    log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
    return handle_showreel_error(e.ServiceUnavailable("the database cannot be reached right now; try again shortly",
                                                      code="database_unavailable", title="Database unavailable"))


def handle_redis_unavailable(error: Exception) -> Response:
    log.warning("Redis unavailable on %s %s: %s", request.method, request.path, error)
    return handle_showreel_error(e.ServiceUnavailable(f"Redis cannot take this now ({type(error).__name__}); "
                                                      "try again"))


def _flatten_messages(messages: Any) -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    for location_messages in (messages or {}).values():
        if isinstance(location_messages, dict):
            for field, field_messages in location_messages.items():
                # A multipart part without a name comes back as the key None; JSON keys must be strings.
                flat.setdefault(str(field), []).extend(_as_list(field_messages))
        else:
            flat.setdefault("_schema", []).extend(_as_list(location_messages))
    return flat


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [f"{k}: {v}" for k, v in value.items()]
    return [str(value)]


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(e.ShowreelError, handle_showreel_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, handle_database_unavailable)
    for error in REDIS_UNAVAILABLE:
        app.register_error_handler(error, handle_redis_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
