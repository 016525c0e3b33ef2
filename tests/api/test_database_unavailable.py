"""A lost database answers 503 database_unavailable with Retry-After, never a 500."""

from __future__ import annotations

import uuid

from sqlalchemy.engine import make_url

from shared.db import get_database
from tests.support.tcpproxy import TcpProxy


def test_database_unavailable_is_a_503_with_retry_after_not_a_500(db, redis_client, settings):
    from api.app import create_app

    url = make_url(settings.DATABASE_URL)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    through_proxy = settings.replace(
        DATABASE_URL=url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    client = create_app(through_proxy).test_client()
    missing = f"/api/media/{uuid.uuid4()}/"
    try:
        assert client.get(missing).status_code == 404  # the database answers through the proxy

        proxy.stop()  # cuts the open connections and refuses new ones
        response = client.get(missing)
    finally:
        proxy.stop()
        get_database(through_proxy).dispose()

    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "database_unavailable"
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["retry_after"] == 5
