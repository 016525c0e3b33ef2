"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import text

from api.errors import DEPENDENCY_RETRY_AFTER_SECONDS
from shared.redis_client import get_redis

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """The process is up."""
    return {"status": "ok"}


@blp.get("/readyz")
def readyz():
    """Database, Redis and storage are reachable (503 names what failed)."""
    settings = current_app.config["SETTINGS"]
    checks: dict[str, str] = {}
    try:
        with current_app.extensions["showreel.db"].engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a health check reports any failure, it never raises
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        get_redis(settings).ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a health check reports any failure, it never raises
        checks["redis"] = f"error: {type(exc).__name__}"
    try:
        current_app.extensions["showreel.default_storage"].check()
        checks["storage"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a health check reports any failure, it never raises
        checks["storage"] = f"error: {type(exc).__name__}"
    failed = sorted(name for name, state in checks.items() if state != "ok")
    body = {"status": "ok" if not failed else "unavailable", "checks": checks, "failed": failed}
    status, headers = (200, {}) if not failed else (503, {"Retry-After": str(DEPENDENCY_RETRY_AFTER_SECONDS)})
    return body, status, headers
