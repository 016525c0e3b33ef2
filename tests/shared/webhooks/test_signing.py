"""Our Standard Webhooks signatures verify with the reference library; tampering does not."""

from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shared.tenants.errors import InvalidWebhookSecret
from shared.tenants.secrets import new_secret, parse_secrets
from shared.webhooks.signing import signature_headers

BODY = b'{"type":"job.done","job_id":"7d0c0f6e","status":"done","sequence":1}'


def test_a_signed_webhook_verifies_with_the_standardwebhooks_library():
    secret = new_secret()
    headers = signature_headers("msg_1", int(time.time()), BODY, [secret])

    assert Webhook(secret).verify(BODY, headers)["status"] == "done"
    assert headers["webhook-signature"].startswith("v1,")


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp"])
def test_a_tampered_body_id_or_timestamp_fails_verification(tamper):
    secret = new_secret()
    now = int(time.time())
    headers = signature_headers("msg_1", now, BODY, [secret])
    body = BODY
    if tamper == "body":
        body = BODY.replace(b'"done"', b'"failed"', 1)
    elif tamper == "id":
        headers = {**headers, "webhook-id": "msg_2"}
    else:
        headers = {**headers, "webhook-timestamp": str(now - 1)}

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_an_old_timestamp_is_refused_by_the_receiver_library():
    secret = new_secret()
    headers = signature_headers("msg_1", int(time.time()) - 3600, BODY, [secret])

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def test_during_a_rotation_each_active_secret_signs_and_either_verifies():
    old, new = new_secret(), new_secret()
    headers = signature_headers("msg_1", int(time.time()), BODY, [old, new])

    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_secrets_must_be_whsec_base64_of_a_sensible_length():
    assert parse_secrets(" whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw , ") == ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
    for bad in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="]:
        with pytest.raises(InvalidWebhookSecret):
            parse_secrets(bad)
