"""Issue 11, money: a stranger posting a victim's public tx hash cannot hold it, made-up hashes cost
little and end, a payment counts only once its block is final, and a reorg before publishing stops it."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import uuid
from datetime import timedelta

import pytest

from shared.payments.devchain import ACCOUNTS, RECEIVER
from shared.submissions import pipeline
from shared.submissions.models import Submission
from shared.submissions.payment import check_payment
from tests.support.chain import pay
from tests.support.profile_flow import chain_app, submit
from tests.support.wallets import bearer, sign_in

(WALLET, KEY), (OTHER, OTHER_KEY) = ACCOUNTS[0], ACCOUNTS[1]
PRICE = 10**16


@pytest.fixture()
def chain_settings(settings, anvil):
    return settings.replace(ETH_RPC_URL=anvil.url, PAYMENT_CONFIRMATIONS=1, PAYMENT_RECHECK_SECONDS=2.0,
                            PAYMENT_RECHECK_MAX_SECONDS=30.0)


@pytest.fixture()
def app(db, redis_client, chain_settings, monkeypatch):
    return chain_app(db, chain_settings, monkeypatch)[0]


def _created(client, token, media) -> str:
    response = submit(client, token, media)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _post(client, token, submission_id, tx_hash):
    return client.post(f"/api/submissions/{submission_id}/payment/", headers=bearer(token), json={"tx_hash": tx_hash})


def _made_up_hash() -> str:
    return "0x" + os.urandom(32).hex()


def _row(db, submission_id) -> Submission:
    with db.session() as session:
        return session.get(Submission, uuid.UUID(str(submission_id)))


@pytest.fixture()
def no_automine(anvil):
    """Transactions wait in the mempool until the test mines them (as on a real chain)."""
    anvil.rpc("evm_setAutomine", [False])
    yield
    anvil.rpc("evm_setAutomine", [True])


def test_payment_hash_griefing_six_attackers_racing_the_victim_cannot_block_its_first_post(
        app, media, anvil, db, no_automine):
    client = app.test_client()
    victim = sign_in(client, WALLET, KEY)
    victim_submission = _created(client, victim, media)
    attacker = sign_in(client, OTHER, OTHER_KEY)
    targets = [_created(client, attacker, media) for _ in range(6)]
    # The victim's payment waits in the mempool, where anyone can read its hash.
    tx_hash = pay(anvil.web3, KEY, RECEIVER, PRICE)

    stop, answers, lock = threading.Event(), [], threading.Lock()

    def grief(submission_id):
        own = app.test_client()
        while not stop.is_set():
            code = _post(own, attacker, submission_id, tx_hash).get_json().get("code")
            with lock:
                answers.append(code)

    threads = [threading.Thread(target=grief, args=(target,), daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(answers) < 30 and time.monotonic() < deadline:  # the attack is in full swing
            time.sleep(0.01)
        first = _post(client, victim, victim_submission, tx_hash)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    assert (first.status_code, first.get_json()["status"]) == (202, "payment_pending"), first.get_json()
    assert set(answers) <= {"payment_wrong_sender", "tx_already_used"} and "payment_wrong_sender" in answers
    anvil.mine(1)
    check_payment(app.extensions["showreel.submissions"], victim_submission)
    assert _row(db, victim_submission).status == "paid"
    assert all(_row(db, target).tx_hash is None for target in targets)


def test_payment_hash_griefing_a_hash_the_node_does_not_know_yet_is_not_claimed(app, media, anvil, db):
    client = app.test_client()
    token = sign_in(client, WALLET, KEY)
    submission_id = _created(client, token, media)
    tx_hash = _made_up_hash()
    accepted = _post(client, token, submission_id, tx_hash)
    assert (accepted.status_code, accepted.get_json()["status"]) == (202, "payment_pending")
    assert accepted.get_json()["payment"]["tx_hash"] == tx_hash
    row = _row(db, submission_id)
    assert (row.tx_hash, row.posted_tx_hash) == (None, tx_hash)
    # Someone else may post the same unknown hash: nobody holds it before the node shows its sender.
    stranger = sign_in(client, OTHER, OTHER_KEY)
    also = _post(client, stranger, _created(client, stranger, media), tx_hash)
    assert (also.status_code, also.get_json()["status"]) == (202, "payment_pending")


def test_pending_payments_for_made_up_hashes_are_given_up_after_the_not_found_timeout(app, media, db):
    client = app.test_client()
    token = sign_in(client, WALLET, KEY)
    submission_id = _created(client, token, media)
    assert _post(client, token, submission_id, _made_up_hash()).get_json()["status"] == "payment_pending"
    context = app.extensions["showreel.submissions"]
    posted_at = _row(db, submission_id).payment_posted_at
    assert context.settings.PAYMENT_NOT_FOUND_TIMEOUT == 600

    check_payment(context, submission_id, now=posted_at + timedelta(seconds=590))
    assert _row(db, submission_id).status == "payment_pending"
    outcome = check_payment(context, submission_id, now=posted_at + timedelta(seconds=610))
    assert getattr(outcome, "code", None) == "payment_not_found"
    row = _row(db, submission_id)
    assert (row.status, row.payment_error["code"], row.posted_tx_hash) == ("awaiting_payment", "payment_not_found",
                                                                            None)


def test_pending_payments_rechecks_back_off_from_2_to_30_seconds(app, media, db, monkeypatch):
    from workers import submission_actors

    client = app.test_client()
    token = sign_in(client, WALLET, KEY)
    submission_id = _created(client, token, media)
    assert _post(client, token, submission_id, _made_up_hash()).get_json()["status"] == "payment_pending"
    delays = []
    monkeypatch.setattr(submission_actors.check_submission_payment, "send_with_options",
                        lambda args, delay: delays.append(delay / 1000))
    for _ in range(6):
        submission_actors.check_submission_payment.fn(submission_id)
    assert delays == [4, 8, 16, 30, 30, 30]
    assert _row(db, submission_id).payment["checks"] == 7


def test_pending_payments_per_wallet_are_capped_with_a_429(app, media, db):
    client = app.test_client()
    token = sign_in(client, WALLET, KEY)
    for _ in range(3):
        assert _post(client, token, _created(client, token, media), _made_up_hash()).status_code == 202
    fourth = _created(client, token, media)
    refused = _post(client, token, fourth, _made_up_hash())
    assert (refused.status_code, refused.get_json()["code"]) == (429, "too_many_pending_payments")
    assert refused.headers["Retry-After"] == "30"
    row = _row(db, fourth)
    assert (row.status, row.posted_tx_hash) == ("awaiting_payment", None)


def test_finality_the_confirmations_default_is_per_chain():
    from shared.payments.terms import uses_finalized_tag
    from shared.settings import Settings

    dev, mainnet = Settings.from_env({}), Settings.from_env({"PAYMENT_CHAIN_ID": "1"})
    assert (dev.PAYMENT_CONFIRMATIONS, mainnet.PAYMENT_CONFIRMATIONS) == (2, 12)
    assert (uses_finalized_tag(dev, 31337), uses_finalized_tag(mainnet, 1)) == (False, True)
    assert Settings.from_env({"PAYMENT_CHAIN_ID": "1", "PAYMENT_CONFIRMATIONS": "20"}).PAYMENT_CONFIRMATIONS == 20


def test_finality_a_payment_counts_once_the_nodes_finalized_block_covers_it(
        media, db, redis_client, settings, anvil, monkeypatch):
    final = settings.replace(ETH_RPC_URL=anvil.url, PAYMENT_CONFIRMATIONS=2, PAYMENT_FINALITY="finalized")
    app, context = chain_app(db, final, monkeypatch)
    client = app.test_client()
    token = sign_in(client, WALLET, KEY)
    anvil.mine(70)  # anvil reports head - 64 as finalized once it is past genesis
    submission_id = _created(client, token, media)
    accepted = _post(client, token, submission_id, pay(anvil.web3, KEY, RECEIVER, PRICE))
    assert accepted.get_json()["payment"]["reason"] == "finality"
    anvil.mine(10)  # 11 confirmations: enough by count, not final
    check_payment(context, submission_id)
    assert (_row(db, submission_id).status, _row(db, submission_id).payment["reason"]) == ("payment_pending",
                                                                                           "finality")
    anvil.mine(54)
    check_payment(context, submission_id)
    row = _row(db, submission_id)
    assert (row.status, row.payment["final_by"]) == ("paid", "finalized")

    # The dev chain (auto) ignores anvil's fictional finality and counts PAYMENT_CONFIRMATIONS.
    auto = dataclasses.replace(context, settings=final.replace(PAYMENT_FINALITY="auto"))
    monkeypatch.setitem(app.extensions, "showreel.submissions", auto)
    second = _created(client, token, media)
    assert _post(client, token, second, pay(anvil.web3, KEY, RECEIVER, PRICE)).get_json()["payment"]["reason"] == \
        "confirmations"
    anvil.mine(1)
    check_payment(app.extensions["showreel.submissions"], second)
    assert _row(db, second).payment["final_by"] == "confirmations"


def test_finality_a_payment_reorged_out_after_convert_is_not_published(app, media, anvil, db):
    context = app.extensions["showreel.submissions"]
    client = app.test_client()
    token = sign_in(client, WALLET, KEY)
    submission_id = _created(client, token, media)
    paid = _post(client, token, submission_id, pay(anvil.web3, KEY, RECEIVER, PRICE))
    assert paid.get_json()["status"] == "paid"
    for step in ("convert", "preview", "upload"):
        assert pipeline.run_step(context, submission_id, step, 1) is True, step
    anvil.rpc("anvil_reorg", [2, []])  # deeper than the confirmations: the payment is gone

    assert pipeline.run_step(context, submission_id, "persist", 1) is False
    state = client.get(f"/api/submissions/{submission_id}/", headers=bearer(token)).get_json()
    assert state["status"] == "payment_pending" and state["published_at"] is None
    assert state["payment"]["reason"] == "not_found"
    assert client.get(f"/api/profiles/{WALLET}/").status_code == 404
    row = _row(db, submission_id)  # kept for a manual refund should it never come back
    assert row.tx_hash and row.paid_at is not None


def test_review_stale_row_in_accept_two_concurrent_posts_of_different_hashes_cannot_overwrite_each_other(
        app, media, db, monkeypatch):
    """Both posts read the row, then take its lock in turn: the second must see what the first wrote,
    not its own earlier read (PostgreSQL)."""
    import sys

    from shared.submissions import payment

    client = app.test_client()
    token = sign_in(client, WALLET, KEY)
    submission_id = _created(client, token, media)
    both_read, answers = threading.Barrier(2, timeout=30), {}
    select = payment.select

    def select_after_both_read(*args, **kwargs):
        if sys._getframe(1).f_code.co_name == "_accept":  # between the plain read and the locked select
            both_read.wait()
        return select(*args, **kwargs)

    monkeypatch.setattr(payment, "select", select_after_both_read)

    def post(tx_hash):
        response = _post(app.test_client(), token, submission_id, tx_hash)
        answers[tx_hash] = (response.status_code, response.get_json().get("code"))

    threads = [threading.Thread(target=post, args=(_made_up_hash(),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(answers.values()) == [(202, None), (409, "payment_not_expected")], answers
    winner = next(tx_hash for tx_hash, (status, _) in answers.items() if status == 202)
    row = _row(db, submission_id)
    assert (row.status, row.posted_tx_hash) == ("payment_pending", winner)
