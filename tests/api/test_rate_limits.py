"""Rate limits per tenant key and per IP, shared through Redis by every API process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from api.app import create_app
from shared.tenants.service import create_tenant
from tests.support.production import production_env

ROOT = Path(__file__).resolve().parents[2]


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_request_after_a_tenants_limit_gets_429_with_retry_after(db, redis_client, settings):
    client = create_app(settings).test_client()
    _, key = create_tenant(db, settings, "acme", limits={"requests_per_minute": 5})
    _, other = create_tenant(db, settings, "globex")

    answers = [client.get("/api/presets/", headers=_auth(key)) for _ in range(6)]

    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert [a.headers["RateLimit-Remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    assert answers[0].headers["RateLimit-Limit"] == "5" and answers[0].headers["RateLimit-Policy"] == "5;w=60"
    refused = answers[-1]
    assert refused.get_json()["code"] == "rate_limited"
    assert refused.content_type == "application/problem+json"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert int(refused.headers["RateLimit-Reset"]) <= 60
    assert client.get("/api/presets/", headers=_auth(other)).status_code == 200  # its own count


def test_one_ip_address_is_limited_whatever_key_it_uses(db, redis_client, settings):
    client = create_app(settings.replace(RATE_LIMIT_PER_IP=3)).test_client()
    keys = [create_tenant(db, settings, f"t{i}")[1] for i in range(4)]

    answers = [client.get("/api/presets/", headers=_auth(key)) for key in keys]
    elsewhere = client.get("/api/presets/", environ_base={"REMOTE_ADDR": "192.0.2.10"})

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert elsewhere.status_code == 200


def test_a_request_costs_one_redis_call_per_limit_and_its_headers_none(db, redis_client, settings, monkeypatch):
    app = create_app(settings)
    client = app.test_client()
    _, key = create_tenant(db, settings, "acme", limits={"requests_per_minute": 5})
    connection = app.extensions["showreel.limiter"].storage.storage
    calls = []
    original = connection.execute_command
    monkeypatch.setattr(connection, "execute_command", lambda *args, **kw: calls.append(args[0]) or original(*args, **kw))

    answers = [client.get("/api/presets/", headers=_auth(key)) for _ in range(3)]

    # Two limits count each request (its tenant's, its address's); the headers come from those counts.
    assert calls == ["EVALSHA"] * 6
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["4", "3", "2"]
    assert all(0 < int(a.headers["RateLimit-Reset"]) <= 60 for a in answers)


def test_an_unknown_key_is_refused_and_still_counted_by_address(db, redis_client, settings):
    client = create_app(settings.replace(APP_ENV="production", RATE_LIMIT_PER_IP=2)).test_client()

    job = "/api/media/00000000-0000-4000-8000-0000000000aa/"
    answers = [client.get(job, headers=_auth("sr_guess")) for _ in range(3)]

    assert [a.status_code for a in answers] == [401, 401, 429]


def test_with_redis_down_the_api_serves_and_limits_each_process_in_memory(db, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = create_app(settings.replace(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0",
                                         RATE_LIMIT_PER_IP=3)).test_client()

    answers = [client.get("/api/presets/") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_the_limit_holds_across_two_api_processes(db, redis_client, settings):
    _, key = create_tenant(db, settings, "acme", limits={"requests_per_minute": 6})
    ports = [_free_port(), _free_port()]
    processes = [subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                                   "api.app:wsgi()"], cwd=ROOT, env={**os.environ, **production_env()},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for port in ports]
    try:
        for port in ports:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok:
                        break
                except requests.RequestException:  # still booting
                    pass
                assert time.monotonic() < deadline, "the API process did not start"
                time.sleep(0.2)
        answers = [requests.get(f"http://127.0.0.1:{ports[i % 2]}/api/presets/", headers=_auth(key), timeout=5)
                   for i in range(7)]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)

    assert [a.status_code for a in answers] == [200] * 6 + [429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
