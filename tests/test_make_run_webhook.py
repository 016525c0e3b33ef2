"""`make run` end to end: the embedded system sends a job's webhook, signed with both rotation secrets.

Starts what `make run` starts (``python -m shared.embedded``: SQLite, embedded Redis and
every Procfile process) in a temporary DATA_DIR on a free port, posts a file over HTTP
the way curl would, and receives the webhook on a local receiver.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shared.webhooks.signing import new_secret
from tests.support.media import png_bytes
from tests.support.webhooks import WebhookReceiver

ROOT = Path(__file__).resolve().parents[1]
# Settings the test run fixes for its own database and Redis: `make run` must pick its own.
_RUN_OWN = {"DATABASE_URL", "REDIS_URL", "TEMP_DIR", "LOCAL_STORAGE_DIR", "SECRET_KEY", "APP_ENV",
            "STORAGE_PROVIDER", "RETRY_MIN_BACKOFF_MS", "RETRY_MAX_BACKOFF_MS"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_a_webhook_from_make_run_verifies_with_both_rotation_secrets(tmp_path):
    old, new = new_secret(), new_secret()
    port = _free_port()
    env = {name: value for name, value in os.environ.items() if name not in _RUN_OWN}
    env.update(DATA_DIR=str(tmp_path / "data"), PORT=str(port), WEB_CONCURRENCY="1",
               WEBHOOK_SECRET=f"{old} {new}", WEBHOOK_ALLOW_PRIVATE_TARGETS="1")
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "make-run.log").open("wb")
    system = subprocess.Popen([sys.executable, "-m", "shared.embedded"], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with WebhookReceiver() as receiver:
            _wait_until_up(base, system, tmp_path / "make-run.log")
            created = requests.post(f"{base}/api/media/", files={"file": ("logo.png", png_bytes(120, 80))},
                                    data={"callback_url": receiver.url}, timeout=30)
            assert created.status_code == 201, created.text
            [webhook] = receiver.wait_for(1, timeout=40)
    finally:
        os.killpg(system.pid, signal.SIGINT)
        try:
            system.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(system.pid, signal.SIGKILL)
            system.wait(timeout=10)
        log.close()

    payload = Webhook(old).verify(webhook.body, webhook.headers)
    Webhook(new).verify(webhook.body, webhook.headers)
    assert (payload["job_id"], payload["status"], payload["sequence"]) == (created.json()["job_id"], "done", 1)
    assert len(webhook.headers["webhook-signature"].split()) == 2
    tampered = [
        (webhook.body.replace(b'"done"', b'"failed"', 1), webhook.headers),
        (webhook.body, {**webhook.headers, "webhook-id": "msg_forged"}),
        (webhook.body, {**webhook.headers, "webhook-timestamp": str(int(webhook.headers["webhook-timestamp"]) + 1)}),
    ]
    for body, headers in tampered:
        for secret in (old, new):
            with pytest.raises(WebhookVerificationError):
                Webhook(secret).verify(body, headers)


def _wait_until_up(base: str, system: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        assert system.poll() is None, f"make run exited:\n{log.read_text()[-3000:]}"
        try:
            if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"make run did not become ready:\n{log.read_text()[-3000:]}")
