"""Request ids, request logs, HTTP metrics and ``/metrics``.

Every request gets a ``request_id`` (the caller's ``X-Request-ID`` when it is a
sane token, else a new one), bound to the log context for the whole request and
echoed in the response; events recorded during the request carry it on to the
workers (see shared/logs.py).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared import metrics
from shared.logs import bind_context, reset_context
from shared.ops.metrics import SystemCollector
from shared.redis_client import get_redis
from shared.settings import Settings

log = logging.getLogger("api.requests")

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_QUIET_PATHS = {"/metrics", "/healthz", "/readyz"}
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def init_observability(app: Flask, settings: Settings) -> None:
    metrics.configure_metrics(settings)
    # First, so the id and the clock exist even when a later hook answers early (auth, rate limits).
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_end)
    app.teardown_request(_unbind)
    app.add_url_rule("/metrics", "metrics", _metrics_endpoint, methods=["GET"])


def _begin() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    g.log_tokens = bind_context(request_id=g.request_id)


def _end(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id is None:  # a request that failed before _begin (routing of a bad URL, ...)
        _begin()
        request_id = g.request_id
    response.headers[REQUEST_ID_HEADER] = request_id
    elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    method = request.method if request.method in _METHODS else "OTHER"
    metrics.record_http_request(method, route, response.status_code, elapsed)
    level = logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO
    # The path only: query strings can carry signatures of download links.
    log.log(level, "%s %s %s", method, request.path, response.status_code,
            extra={"method": method, "route": route, "status": response.status_code,
                   "duration_ms": round(elapsed * 1000, 1)})
    return response


def _unbind(_exc: BaseException | None) -> None:
    tokens = g.pop("log_tokens", None)
    if tokens is not None:
        reset_context(tokens)


def _metrics_endpoint() -> Response:
    settings = current_app.config["SETTINGS"]
    if settings.METRICS_REQUIRE_TOKEN:
        from api.auth import require_ops_token

        require_ops_token()
    registry = metrics.multiprocess_registry(settings)
    registry.register(SystemCollector(current_app.extensions["showreel.db"], lambda: get_redis(settings)))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
