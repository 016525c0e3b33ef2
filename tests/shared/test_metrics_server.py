"""The /metrics server of relay, dispatcher, workers and scheduler (hosts without a web process)."""

from __future__ import annotations

import uuid

import requests

from shared.metrics import record_task, serve_process_metrics
from tests.support.chain import free_port

OPS_TOKEN = "ops-" + "m" * 40


def _serve(settings, ops_token: str = OPS_TOKEN, **overrides) -> str:
    port = free_port()
    settings = settings.replace(METRICS_HOST="127.0.0.1", METRICS_PORT=port, OPS_TOKEN=ops_token, **overrides)
    assert serve_process_metrics(settings) == port
    # A label never used before: a metric child writes to the folder configured when it was created,
    # and earlier tests of this process created ("convert", "success") under their own folders.
    record_task(f"metrics-server-{uuid.uuid4().hex[:8]}", "success", 0.1)
    return f"http://127.0.0.1:{port}/metrics"


def test_worker_metrics_server_requires_the_ops_token_when_metrics_require_token(settings):
    url = _serve(settings, METRICS_REQUIRE_TOKEN=True)

    anonymous = requests.get(url, timeout=5)
    wrong = requests.get(url, headers={"Authorization": "Bearer " + "x" * 44}, timeout=5)
    allowed = requests.get(url, headers={"Authorization": f"Bearer {OPS_TOKEN}"}, timeout=5)

    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"] == "application/problem+json"
    assert anonymous.json()["code"] == "ops_token_required"
    assert "thumbnail_task_execution_total" not in anonymous.text
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "invalid_ops_token"
    assert allowed.status_code == 200
    assert "thumbnail_task_execution_total" in allowed.text


def test_worker_metrics_server_refuses_every_scrape_when_the_token_is_required_but_unset(settings):
    url = _serve(settings, ops_token="", METRICS_REQUIRE_TOKEN=True)

    response = requests.get(url, headers={"Authorization": "Bearer "}, timeout=5)

    assert response.status_code == 403
    assert response.json()["code"] == "ops_token_not_configured"


def test_worker_metrics_server_is_open_when_metrics_require_token_is_off(settings):
    url = _serve(settings, METRICS_REQUIRE_TOKEN=False)

    response = requests.get(url, timeout=5)

    assert response.status_code == 200
    assert "thumbnail_task_execution_total" in response.text
