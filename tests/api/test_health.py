"""Probes: /healthz while the process lives, /readyz names the dependency that is down."""

from __future__ import annotations

from urllib.parse import urlsplit

from api.app import create_app
from tests.support.runtime import wait_for
from tests.support.tcpproxy import TcpProxy


def test_readyz_answers_503_naming_redis_while_it_is_stopped_and_200_when_it_is_back(db, redis_client, settings):
    real = urlsplit(settings.REDIS_URL)
    proxy = TcpProxy(real.hostname, real.port)
    proxy.start()
    client = create_app(settings.replace(REDIS_URL=f"redis://{proxy.url_host}{real.path}")).test_client()
    try:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.get_json()
        assert ready.get_json()["checks"] == {"database": "ok", "redis": "ok", "storage": "ok"}

        proxy.stop()  # Redis "stopped" for this app only; the shared Redis keeps serving the others
        down = client.get("/readyz")
        assert down.status_code == 503 and down.headers["Retry-After"] == "5"
        assert down.get_json()["failed"] == ["redis"] and down.get_json()["checks"]["redis"].startswith("error")
        assert client.get("/healthz").status_code == 200

        proxy.start()
        wait_for(lambda: client.get("/readyz").status_code == 200, timeout=15, message="readyz to recover")
    finally:
        proxy.stop()
