"""Rate limits of the tenant-facing API: per tenant (its API key) and per client IP.

flask-limiter counts in Redis, so every API process shares one count. Responses carry
``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` (seconds) and
``RateLimit-Policy`` of the limit closest to running out; a ``429`` adds
``Retry-After``. When Redis is down the API keeps serving: counting falls back to
each process's memory with the per-IP limit (so the limit still holds per process),
and Redis is tried again as flask-limiter backs off.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from api.auth import current_tenant_id
from shared.errors import ShowreelError
from shared.settings import Settings
from shared.tenants.service import tenant_limit

log = logging.getLogger(__name__)

KEY_PREFIX = "showreel-ratelimit"


def _tenant_key() -> str:
    try:
        return f"tenant:{current_tenant_id()}"
    except ShowreelError:
        # No usable key: the view itself answers 401; count the caller by address meanwhile.
        return f"unauthenticated:{get_remote_address()}"


def _tenant_limit() -> str:
    settings = current_app.config["SETTINGS"]
    try:
        per_minute = tenant_limit(current_app.extensions["showreel.db"], settings, current_tenant_id(),
                                  "requests_per_minute")
    except ShowreelError:
        per_minute = settings.RATE_LIMIT_PER_TENANT
    return f"{per_minute}/minute"


def init_rate_limits(app: Flask, settings: Settings, blueprints) -> Limiter:
    """Limit the given blueprints per tenant and per IP, and add the RateLimit-* headers."""
    per_ip = f"{settings.RATE_LIMIT_PER_IP}/minute"
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri=settings.REDIS_URL or "memory://",
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 1} if settings.REDIS_URL else {},
        key_prefix=KEY_PREFIX,
        headers_enabled=False,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        in_memory_fallback=[per_ip],
    )
    tenant_limit_ = limiter.shared_limit(_tenant_limit, scope="tenant", key_func=_tenant_key)
    ip_limit = limiter.shared_limit(per_ip, scope="ip", key_func=get_remote_address)
    for blueprint in blueprints:
        tenant_limit_(blueprint)
        ip_limit(blueprint)

    @app.after_request
    def _rate_limit_headers(response: Response) -> Response:
        try:
            current = limiter.current_limit
            if current is None:
                return response
            reset = max(0, int(current.reset_at - time.time()))
            response.headers["RateLimit-Limit"] = str(current.limit.amount)
            response.headers["RateLimit-Remaining"] = str(max(0, current.remaining))
            response.headers["RateLimit-Reset"] = str(reset)
            response.headers["RateLimit-Policy"] = f"{current.limit.amount};w={current.limit.get_expiry()}"
            if response.status_code == 429:
                response.headers["Retry-After"] = str(max(1, reset))
        except Exception:  # the counts are unreadable (Redis went away): serve without the headers
            log.debug("no rate-limit headers for %s", request.path, exc_info=True)
        return response

    app.extensions["showreel.limiter"] = limiter
    return limiter
