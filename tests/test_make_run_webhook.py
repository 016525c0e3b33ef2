"""`make run` end to end: the embedded system sends a job's webhook, signed with both rotation secrets.

Starts what `make run` starts (``python -m shared.embedded``: SQLite, embedded Redis and
every Procfile process) in a temporary DATA_DIR on a free port, posts a file over HTTP
the way curl would, and receives the webhook on a local receiver.
"""

from __future__ import annotations

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shared.tenants.secrets import new_secret
from tests.support.embedded import embedded_system
from tests.support.media import png_bytes
from tests.support.webhooks import WebhookReceiver


@pytest.mark.slow
def test_a_webhook_from_make_run_verifies_with_both_rotation_secrets(tmp_path):
    old, new = new_secret(), new_secret()
    with WebhookReceiver() as receiver, embedded_system(tmp_path, WEBHOOK_SECRET=f"{old} {new}",
                                                        WEBHOOK_ALLOW_PRIVATE_TARGETS="1") as system:
        created = requests.post(f"{system.base}/api/media/", files={"file": ("logo.png", png_bytes(120, 80))},
                                data={"callback_url": receiver.url}, timeout=30)
        assert created.status_code == 201, created.text
        [webhook] = receiver.wait_for(1, timeout=40)

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

