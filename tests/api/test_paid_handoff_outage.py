"""Redis refuses the hand-off between two steps of a paid submission: it is still published, once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.events.models import OutboxEvent
from shared.payments.devchain import ACCOUNTS, RECEIVER
from shared.submissions.models import Submission
from tests.support.chain import pay
from tests.support.profile_flow import chain_app, submit
from tests.support.runtime import pipeline_runtime, wait_for
from tests.support.wallets import bearer, sign_in
from tests.workers.test_handoff_outage import FailingEnqueues

WALLET, KEY = ACCOUNTS[0]


@pytest.fixture()
def chain_settings(settings, anvil):
    return settings.replace(ETH_RPC_URL=anvil.url, PAYMENT_CONFIRMATIONS=1)


@pytest.fixture()
def app(db, redis_client, chain_settings, monkeypatch):
    return chain_app(db, chain_settings, monkeypatch)[0]


def test_a_hand_off_refused_by_redis_still_publishes_the_paid_submission_once(client, media, anvil, chain_settings,
                                                                              db, monkeypatch):
    token = sign_in(client, WALLET, KEY)
    created = submit(client, token, media).get_json()
    # convert_submission finishes, then Redis refuses the enqueue of preview_submission twice.
    failing = FailingEnqueues(monkeypatch, "preview_submission", times=2)
    with pipeline_runtime(chain_settings):
        accepted = client.post(f"/api/submissions/{created['id']}/payment/", headers=bearer(token),
                               json={"tx_hash": pay(anvil.web3, KEY, RECEIVER, 10**16)})
        assert accepted.status_code == 202
        state = wait_for(lambda: (s := client.get(f"/api/submissions/{created['id']}/", headers=bearer(token))
                                  .get_json())["status"] in ("published", "failed") and s,
                         timeout=120, interval=0.3, message="the paid pipeline")

    assert failing.failed == 2
    assert state["status"] == "published", state
    with db.session() as session:
        row = session.get(Submission, created["id"])
        deliveries = {name: step["deliveries"] for name, step in row.steps.items()}
        payloads = session.scalars(select(OutboxEvent.payload).where(OutboxEvent.aggregate_id == str(row.id))).all()
    assert deliveries == {"convert": 1, "preview": 1, "upload": 1, "persist": 1}
    assert sum(1 for payload in payloads if payload.get("status") == "published") == 1
