"""Every 503 carries Retry-After: a live-status stream asked for while Redis is down."""

from __future__ import annotations

import pytest
import redis

from shared.payments.devchain import ACCOUNTS
from tests.api.test_limits_and_headers import _submission
from tests.support.wallets import bearer, sign_in

WALLET, KEY = ACCOUNTS[0]


def _down(*args, **kwargs):
    raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_live_status_stream_while_redis_is_down_is_a_503_with_retry_after(make_client, db, monkeypatch):
    client = make_client()
    token = sign_in(client, WALLET, KEY)
    submission = _submission(db, WALLET)
    monkeypatch.setattr(redis.client.Pipeline, "execute", _down)  # the per-wallet stream count

    answer = client.get(f"/api/submissions/{submission}/events/", headers=bearer(token))

    assert (answer.status_code, answer.get_json()["code"]) == (503, "service_unavailable")
    assert answer.headers["Retry-After"] == "5" and answer.get_json()["retry_after"] == 5


def test_live_status_stream_losing_redis_after_taking_its_slot_is_a_503_with_retry_after(make_client, db,
                                                                                         monkeypatch):
    from shared.submissions import live

    client = make_client()
    token = sign_in(client, WALLET, KEY)
    submission = _submission(db, WALLET)
    monkeypatch.setattr(live, "newest_entry_id", _down)  # Redis went away between two commands

    answer = client.get(f"/api/submissions/{submission}/events/", headers=bearer(token))

    assert (answer.status_code, answer.get_json()["code"]) == (503, "service_unavailable")
    assert answer.headers["Retry-After"] == "5"


@pytest.mark.parametrize("error", [redis.ReadOnlyError("You can't write against a read only replica."),
                                   redis.exceptions.OutOfMemoryError("OOM command not allowed when used memory > "
                                                                     "'maxmemory'.")],
                         ids=["read-only-replica", "out-of-memory"])
def test_a_redis_refusing_writes_for_a_while_is_a_503_not_a_500(make_client, db, monkeypatch, error):
    # A replica promoted mid-failover, or a Redis full under noeviction: try again, not a server bug.
    from shared.submissions import live

    client = make_client()
    token = sign_in(client, WALLET, KEY)
    submission = _submission(db, WALLET)

    def read_only(*args, **kwargs):
        raise error

    monkeypatch.setattr(live, "newest_entry_id", read_only)

    answer = client.get(f"/api/submissions/{submission}/events/", headers=bearer(token))

    assert (answer.status_code, answer.get_json()["code"]) == (503, "service_unavailable")
    assert answer.headers["Retry-After"] == "5"


def test_a_service_unavailable_error_without_its_own_retry_after_still_gets_one(app):
    from api.errors import handle_showreel_error
    from shared.errors import ServiceUnavailable

    with app.test_request_context("/api/anything/"):
        response = handle_showreel_error(ServiceUnavailable("the chain node is down"))

    assert response.status_code == 503 and response.headers["Retry-After"] == "5"


# -- the database: a lost connection is a 503 with Retry-After, a recovered one works again -------------


def test_a_connection_pool_that_times_out_is_a_503_database_unavailable(make_client, monkeypatch):
    from sqlalchemy import exc as sa_exc

    from shared.db.session import Database

    client = make_client()

    def exhausted(self):
        raise sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00")

    monkeypatch.setattr(Database, "session", exhausted)
    answer = client.get("/api/profiles/")

    assert (answer.status_code, answer.get_json()["code"]) == (503, "database_unavailable")
    assert answer.headers["Retry-After"] == "5"


def test_pooled_connections_the_database_dropped_are_replaced_on_the_next_request(make_client, db, settings):
    """As after a PostgreSQL restart: every pooled connection is dead, the next request still works."""
    import psycopg
    from sqlalchemy import text

    client = make_client()
    assert client.get("/api/profiles/").status_code == 200
    engine = db.engine
    with engine.connect() as connection:  # the pool's connections, as the web process holds them
        pids = {connection.execute(text("SELECT pg_backend_pid()")).scalar()}
    admin_url = settings.DATABASE_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    answers = [client.get("/api/profiles/").status_code for _ in range(3)]

    assert answers == [200, 200, 200]
