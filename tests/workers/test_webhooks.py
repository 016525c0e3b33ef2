"""Webhooks end to end: a job with a callback URL -> job.done -> light queue -> signed POST."""

from __future__ import annotations

import io

import pytest
from standardwebhooks.webhooks import Webhook

from api.app import create_app
from shared.tenants.secrets import new_secret
from shared.tenants.storage import get_tenant_storages
from shared.webhooks.service import WebhookContext
from tests.support.media import png_bytes
from tests.support.runtime import pipeline_runtime, wait_for
from tests.support.webhooks import WebhookReceiver


@pytest.fixture()
def local_settings(settings):
    # Private targets only so that the test's receiver on loopback can be reached.
    return settings.replace(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_SECRET=new_secret())


@pytest.fixture()
def hooks_client(db, redis_client, local_settings, monkeypatch):
    from workers import actors

    context = WebhookContext(db=db, settings=local_settings, storages=get_tenant_storages(local_settings))
    monkeypatch.setattr(actors, "webhook_context", lambda: context)
    return create_app(local_settings).test_client()


def test_a_finished_job_sends_a_signed_webhook_and_a_redelivery_repeats_it(hooks_client, local_settings, settings):
    with WebhookReceiver() as receiver, pipeline_runtime(settings):
        created = hooks_client.post("/api/media/", data={"file": (io.BytesIO(png_bytes(80, 60)), "logo.png"),
                                                         "callback_url": receiver.url})
        assert created.status_code == 201, created.get_json()
        job_id = created.get_json()["job_id"]
        [first] = receiver.wait_for(1, timeout=60)

        [delivery] = wait_for(lambda: [d for d in hooks_client.get(f"/api/media/{job_id}/webhooks/").get_json()
                                        if d["status"] == "delivered"], timeout=10, message="the delivery log")
        again = hooks_client.post(f"/api/media/{job_id}/webhooks/{delivery['id']}/redeliver/")
        second = receiver.wait_for(2, timeout=30)[1]

    payload = Webhook(local_settings.WEBHOOK_SECRET).verify(first.body, first.headers)
    assert (payload["job_id"], payload["status"], payload["sequence"], payload["type"]) == (
        job_id, "done", 1, "job.done")
    assert payload["job"]["status"] == "done" and set(payload["job"]["outputs"].values()) == {"done"}
    assert hooks_client.get(_path(payload["job"]["result_urls"]["thumb"])).status_code == 200
    assert delivery["status"] == "delivered" and delivery["webhook_id"] == first.headers["webhook-id"]
    assert delivery["log"][0]["status_code"] == 200
    assert again.status_code == 202 and again.get_json()["round"] == 2
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    Webhook(local_settings.WEBHOOK_SECRET).verify(second.body, second.headers)


def test_the_delivery_log_of_another_tenants_job_is_not_found(hooks_client):
    response = hooks_client.get("/api/media/00000000-0000-4000-8000-0000000000aa/webhooks/")
    assert response.status_code == 404 and response.get_json()["code"] == "job_not_found"


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])
