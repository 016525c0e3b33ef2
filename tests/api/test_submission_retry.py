"""A paid submission that failed on transient errors is processed again on its owner's request,
without paying again; other failures, other states and other wallets are refused; a failed
submission's uploads are freed once its retry window has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.db import utcnow
from shared.payments.devchain import ACCOUNTS, RECEIVER
from shared.submissions import pipeline
from shared.submissions.expiry import expire_stale_submissions
from tests.support.chain import pay
from tests.support.profile_flow import chain_app, submit
from tests.support.runtime import pipeline_runtime, wait_for
from tests.support.wallets import bearer, sign_in

(WALLET, KEY), (OTHER, OTHER_KEY) = ACCOUNTS[0], ACCOUNTS[1]


@pytest.fixture()
def paid(db, redis_client, settings, anvil, monkeypatch, media):
    """A client, the owner's token, the workers' context and a paid submission nobody processed yet."""
    chain_settings = settings.replace(ETH_RPC_URL=anvil.url, PAYMENT_CONFIRMATIONS=1)
    app, context = chain_app(db, chain_settings, monkeypatch)
    client = app.test_client()
    token = sign_in(client, WALLET, KEY)
    created = submit(client, token, media).get_json()
    accepted = client.post(f"/api/submissions/{created['id']}/payment/", headers=bearer(token),
                           json={"tx_hash": pay(anvil.web3, KEY, RECEIVER, 10**16)})
    assert accepted.get_json()["status"] == "paid"
    return client, token, context, created["id"]


def _retry(client, token, submission_id):
    return client.post(f"/api/submissions/{submission_id}/retry/", headers=bearer(token))


def test_a_submission_that_failed_on_transient_errors_is_retried_and_published(paid):
    client, token, context, submission_id = paid
    # What the workers do when a step kept failing through every retry (storage down, say).
    assert pipeline.fail_submission(context, submission_id, "retries_exhausted", "upload failed 20 times", run=1)

    retried = _retry(client, token, submission_id)
    assert retried.status_code == 202, retried.get_json()
    body = retried.get_json()
    assert (body["status"], body["error"], body["steps"]["convert"]["state"]) == ("paid", None, "pending")
    with pipeline_runtime(context.settings):
        wait_for(lambda: client.get(f"/api/submissions/{submission_id}/", headers=bearer(token))
                 .get_json()["status"] == "published", timeout=90, interval=0.3, message="the second run")
    assert client.get(f"/api/profiles/{WALLET}/").status_code == 200
    again = _retry(client, token, submission_id)
    assert (again.status_code, again.get_json()["code"]) == (409, "submission_not_retryable")


def test_retry_is_refused_for_bad_media_other_wallets_and_unfailed_submissions(paid):
    client, token, context, submission_id = paid
    assert _retry(client, token, submission_id).get_json()["code"] == "submission_not_retryable"  # paid, not failed
    pipeline.fail_submission(context, submission_id, "corrupt_media", "the video does not decode", run=1)
    refused = _retry(client, token, submission_id)
    assert (refused.status_code, refused.get_json()["code"]) == (409, "submission_not_retryable")
    assert "corrupt_media" in refused.get_json()["detail"]
    other = sign_in(client, OTHER, OTHER_KEY)
    assert _retry(client, other, submission_id).status_code == 403
    anonymous = client.application.test_client()  # no token, no cookie
    assert anonymous.post(f"/api/submissions/{submission_id}/retry/").status_code == 401


def test_a_failed_submission_keeps_its_uploads_for_the_retry_window_then_frees_them(paid):
    client, token, context, submission_id = paid
    pipeline.fail_submission(context, submission_id, "retries_exhausted", "gave up", run=1)
    settings = context.settings
    report = expire_stale_submissions(context.db, settings)
    assert report["failed_uploads_released"] == 0
    later = utcnow() + timedelta(hours=settings.SUBMISSION_RETRY_HOURS, minutes=1)
    assert expire_stale_submissions(context.db, settings, now=later)["failed_uploads_released"] == 1
    assert expire_stale_submissions(context.db, settings, now=later)["failed_uploads_released"] == 0
    refused = _retry(client, token, submission_id)
    assert (refused.status_code, refused.get_json()["code"]) == (409, "submission_not_retryable")
    assert "gone" in refused.get_json()["detail"]


def test_review_server_paths_do_not_leak_through_a_failed_submissions_error_message(paid, settings):
    import os

    client, token, context, submission_id = paid
    work_file = os.path.join(os.path.realpath(settings.TEMP_DIR), "submissions", submission_id, "run-1", "poster.jpg")
    pipeline.fail_submission(context, submission_id, "transcode_failed",
                             f"ffmpeg exited with status 1: {work_file}: Permission denied", run=1)

    body = client.get(f"/api/submissions/{submission_id}/", headers=bearer(token)).get_json()
    assert body["error"]["message"] == "ffmpeg exited with status 1: <server path> Permission denied", body
    assert os.path.realpath(settings.TEMP_DIR) not in str(body)
