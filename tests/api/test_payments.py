"""Submissions paid on a real chain (anvil on loopback): quotes, every refusal, replays, reorgs,
unconfirmed payments that become paid without the client asking again."""

from __future__ import annotations

import dataclasses

import pytest

from shared.payments.devchain import ACCOUNTS, RECEIVER
from shared.submissions import pipeline
from tests.support.chain import Anvil, deploy_token, pay, transfer_token
from tests.support.profile_flow import chain_app, submit
from tests.support.runtime import pipeline_runtime, wait_for
from tests.support.wallets import bearer, sign_in

(WALLET, KEY), (OTHER, OTHER_KEY), (THIRD, THIRD_KEY) = ACCOUNTS[0], ACCOUNTS[1], ACCOUNTS[2]


@pytest.fixture()
def chain_settings(settings, anvil):
    return settings.replace(ETH_RPC_URL=anvil.url, PAYMENT_CONFIRMATIONS=1, PAYMENT_RECHECK_SECONDS=0.2)


@pytest.fixture()
def app(db, redis_client, chain_settings, monkeypatch):
    return chain_app(db, chain_settings, monkeypatch)[0]


def _submission(client, media, key=KEY, address=WALLET):
    token = sign_in(client, address, key)
    created = submit(client, token, media)
    assert created.status_code == 201, created.get_json()
    return token, created.get_json()


def _post(client, token, submission_id, tx_hash):
    return client.post(f"/api/submissions/{submission_id}/payment/", headers=bearer(token), json={"tx_hash": tx_hash})


def test_a_submission_gets_the_servers_quote_and_a_paid_one_is_accepted(client, media, anvil):
    token, body = _submission(client, media)
    quote = body["payment"]
    assert body["status"] == "awaiting_payment"
    assert (quote["to"], quote["amount_wei"], quote["chain_id"]) == (RECEIVER, str(10**16), 31337)
    paid = _post(client, token, body["id"], pay(anvil.web3, KEY, quote["to"], int(quote["amount_wei"])))
    assert (paid.status_code, paid.get_json()["status"]) == (202, "paid")
    state = client.get(f"/api/submissions/{body['id']}/", headers=bearer(token)).get_json()
    assert state["status"] == "paid" and state["payment"]["asset"] == "ETH"
    assert state["steps"] == {step: {"state": "pending", "deliveries": 0}
                              for step in ("convert", "preview", "upload", "persist")}


def test_refused_payments_answer_402_with_the_reason_and_the_submission_still_waits(client, media, anvil):
    token, body = _submission(client, media)
    web3, price = anvil.web3, 10**16
    token_contract = deploy_token(web3, KEY)
    cases = {
        "payment_underpaid": pay(web3, KEY, RECEIVER, price - 1),
        "payment_wrong_recipient": pay(web3, KEY, OTHER, price),
        "payment_wrong_sender": pay(web3, OTHER_KEY, RECEIVER, price),
        # Reverted: a token transfer of more than the balance (the receipt's status is 0).
        "payment_failed_tx": transfer_token(web3, OTHER_KEY, token_contract, RECEIVER, 1),
        # A legacy transaction without a chain id can be replayed on any chain.
        "payment_wrong_chain": _unprotected_payment(web3, KEY, RECEIVER, price),
        # Not an accepted token (PAYMENT_TOKENS is empty): a look-alike contract's Transfer event.
        "payment_unknown_token": transfer_token(web3, KEY, token_contract, RECEIVER, 10**6),
    }
    for code, tx_hash in cases.items():
        if code == "payment_failed_tx":
            token_other = sign_in(client, OTHER, OTHER_KEY)
            other_created = submit(client, token_other, media).get_json()
            response = _post(client, token_other, other_created["id"], tx_hash)
        else:
            response = _post(client, token, body["id"], tx_hash)
        assert (response.status_code, response.get_json()["code"]) == (402, code), (code, response.get_json())
    state = client.get(f"/api/submissions/{body['id']}/", headers=bearer(token)).get_json()
    assert state["status"] == "awaiting_payment" and state["payment_error"]["code"] == "payment_unknown_token"
    # A refused hash is not kept: the right payment still goes through.
    assert _post(client, token, body["id"], pay(web3, KEY, RECEIVER, price)).get_json()["status"] == "paid"


def _unprotected_payment(web3, key, to, value):
    from eth_account import Account

    account = Account.from_key(key)
    tx = {"to": to, "value": value, "gas": 21_000, "gasPrice": 10 * 10**9,
          "nonce": web3.eth.get_transaction_count(account.address, "pending")}
    return web3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction).to_0x_hex()


def test_an_allow_listed_token_pays_and_a_look_alike_token_with_the_same_name_is_refused(
        client, media, anvil, db, settings, monkeypatch):
    real = deploy_token(anvil.web3, KEY, "USD Coin", "USDC")
    fake = deploy_token(anvil.web3, KEY, "USD Coin", "USDC")
    token_settings = settings.replace(ETH_RPC_URL=anvil.url, PAYMENT_CONFIRMATIONS=1, PAYMENT_TOKENS=f"{real}:5000000")
    client = chain_app(db, token_settings, monkeypatch)[0].test_client()
    token, body = _submission(client, media)
    assert body["payment"]["tokens"] == [{"contract": real, "amount": "5000000"}]
    refused = _post(client, token, body["id"], transfer_token(anvil.web3, KEY, fake, RECEIVER, 5_000_000))
    assert (refused.status_code, refused.get_json()["code"]) == (402, "payment_unknown_token")
    paid = _post(client, token, body["id"], transfer_token(anvil.web3, KEY, real, RECEIVER, 5_000_000))
    assert (paid.status_code, paid.get_json()["status"]) == (202, "paid")
    assert paid.get_json()["payment"]["asset"] == real


def test_a_node_on_another_chain_refuses_the_payment(client, media, db, settings, monkeypatch):
    other_chain = Anvil(chain_id=1)
    try:
        client = chain_app(db, settings.replace(ETH_RPC_URL=other_chain.url), monkeypatch)[0].test_client()
        token, body = _submission(client, media)
        response = _post(client, token, body["id"], pay(other_chain.web3, KEY, RECEIVER, 10**16, chain_id=1))
        assert (response.status_code, response.get_json()["code"]) == (402, "payment_wrong_chain")
    finally:
        other_chain.stop()


def test_a_tx_hash_pays_for_one_submission_only(client, media, anvil):
    token, first = _submission(client, media)
    tx_hash = pay(anvil.web3, KEY, RECEIVER, 10**16)
    assert _post(client, token, first["id"], tx_hash).status_code == 202
    assert _post(client, token, first["id"], tx_hash).status_code == 202  # the same request again
    second = submit(client, token, media).get_json()
    replay = _post(client, token, second["id"], tx_hash)
    assert (replay.status_code, replay.get_json()["code"]) == (409, "tx_already_used")
    upper = _post(client, token, second["id"], "0x" + tx_hash[2:].upper())
    assert upper.get_json()["code"] == "tx_already_used"


def test_only_the_signed_in_owner_may_pay_or_watch_a_submission(client, media, anvil):
    token, body = _submission(client, media)
    other = sign_in(client, OTHER, OTHER_KEY)
    tx_hash = pay(anvil.web3, OTHER_KEY, RECEIVER, 10**16)
    forbidden = _post(client, other, body["id"], tx_hash)
    assert (forbidden.status_code, forbidden.get_json()["code"]) == (403, "wallet_not_owner")
    assert client.get(f"/api/submissions/{body['id']}/", headers=bearer(other)).status_code == 403
    anonymous = client.application.test_client()
    response = anonymous.post(f"/api/submissions/{body['id']}/payment/", json={"tx_hash": tx_hash})
    assert (response.status_code, response.get_json()["code"]) == (401, "wallet_token_required")
    assert anonymous.post("/api/submissions/", json={}).status_code in (401, 422)
    bad = _post(client, token, body["id"], "0x1234")
    assert (bad.status_code, bad.get_json()["code"]) == (400, "invalid_tx_hash")


def test_a_submission_with_a_rejected_hashtag_is_refused_with_the_reason(client, media):
    from tests.support.profile_flow import PROFILE

    token = sign_in(client, WALLET, KEY)
    response = submit(client, token, media, {**PROFILE, "hashtags": "#travel #fuck"})
    assert (response.status_code, response.get_json()["code"]) == (422, "hashtag_rejected")
    assert response.get_json()["errors"]["hashtags"][0].startswith("#fuck:")


def test_an_unconfirmed_payment_becomes_paid_without_the_client_calling_again(
        client, media, anvil, db, settings, monkeypatch):
    waiting = settings.replace(ETH_RPC_URL=anvil.url, PAYMENT_CONFIRMATIONS=3, PAYMENT_RECHECK_SECONDS=0.2)
    client = chain_app(db, waiting, monkeypatch)[0].test_client()
    token, body = _submission(client, media)
    accepted = _post(client, token, body["id"], pay(anvil.web3, KEY, RECEIVER, 10**16))
    assert (accepted.status_code, accepted.get_json()["status"]) == (202, "payment_pending")
    assert accepted.get_json()["payment"]["confirmations"] == 1

    def status():
        return client.get(f"/api/submissions/{body['id']}/", headers=bearer(token)).get_json()["status"]

    with pipeline_runtime(waiting, queues=("light",)):
        anvil.mine(2)
        wait_for(lambda: status() == "paid", timeout=20, message="the light queue confirms the payment")


def test_a_reorged_out_payment_is_not_accepted(client, media, anvil, db, settings, monkeypatch):
    waiting = settings.replace(ETH_RPC_URL=anvil.url, PAYMENT_CONFIRMATIONS=2)
    _, context = chain_app(db, waiting, monkeypatch)
    client = client.application.test_client()
    client.application.extensions["showreel.submissions"] = context
    token, body = _submission(client, media)
    # Pending (1 of 2 confirmations), then the block holding it is replaced by an empty one.
    assert _post(client, token, body["id"], pay(anvil.web3, KEY, RECEIVER, 10**16)).get_json()["status"] == \
        "payment_pending"
    anvil.rpc("anvil_reorg", [1, []])
    anvil.mine(3)
    from shared.submissions.payment import check_payment

    check_payment(context, body["id"])
    state = client.get(f"/api/submissions/{body['id']}/", headers=bearer(token)).get_json()
    assert state["status"] == "payment_pending" and state["payment"]["reason"] == "not_found"

    # Paid, then reorged out before the pipeline starts: convert re-checks and stops.
    second = submit(client, token, media).get_json()
    # The dropped payment's nonce is free again: the same transaction would have the same hash.
    paid_tx = pay(anvil.web3, KEY, RECEIVER, 10**16 + 1)
    anvil.mine(1)
    assert _post(client, token, second["id"], paid_tx).get_json()["status"] == "paid"
    anvil.rpc("anvil_reorg", [3, []])
    assert pipeline.run_step(context, second["id"], "convert", 1) is False
    state = client.get(f"/api/submissions/{second['id']}/", headers=bearer(token)).get_json()
    assert state["status"] == "payment_pending" and state["steps"]["convert"]["state"] == "pending"
    assert not (pipeline.work_dir(context, state["id"]) / "webm.webm").exists()


def test_live_status_streams_are_bounded_per_web_process(media, db, redis_client, settings, anvil, monkeypatch):
    one = settings.replace(ETH_RPC_URL=anvil.url, SSE_MAX_STREAMS=1, SSE_MAX_SECONDS=30)
    client = chain_app(db, one, monkeypatch)[0].test_client()
    token, body = _submission(client, media)
    url = f"/api/submissions/{body['id']}/events/"
    first = client.get(url, headers=bearer(token), buffered=False)
    assert first.status_code == 200
    second = client.get(url, headers=bearer(token))
    assert (second.status_code, second.get_json()["code"], second.headers["Retry-After"]) == \
        (503, "too_many_streams", "5")
    first.close()  # the browser goes away: its slot is free again
    again = client.get(url, headers=bearer(token), buffered=False)
    assert again.status_code == 200
    assert next(iter(again.response)) == b"retry: 2000\n\n"
    again.close()


def test_an_unpaid_submission_past_its_quote_expires_and_frees_its_uploads(client, media, db, settings):
    import uuid
    from datetime import timedelta

    from shared.db import utcnow
    from shared.ops.tasks import TASKS, build_context
    from shared.submissions.models import Submission
    from shared.uploads.models import Upload

    token, body = _submission(client, media)
    with db.session() as session:
        session.get(Submission, uuid.UUID(body["id"])).quote_expires_at = utcnow() - timedelta(seconds=1)
    report = TASKS["expire-abandoned"].run(build_context(settings, db), {"dry_run": False})
    assert report["submissions"]["submissions_expired"] == 1
    state = client.get(f"/api/submissions/{body['id']}/", headers=bearer(token)).get_json()
    assert state["status"] == "expired" and state["error"]["code"] == "quote_expired"
    with db.session() as session:
        uploads = session.query(Upload).filter(Upload.submission_id == uuid.UUID(body["id"])).all()
        assert len(uploads) == 2 and all(upload.deleted_at is not None for upload in uploads)
    late = _post(client, token, body["id"], "0x" + "12" * 32)
    assert (late.status_code, late.get_json()["code"]) == (409, "payment_not_expected")


def test_a_pending_payment_whose_check_message_was_lost_is_found_by_the_sweep(
        client, media, anvil, db, settings, monkeypatch):
    from shared.submissions.payment import claim_payment_checker, recheck_lost_payments
    from workers.submission_actors import check_submission_payment

    patient = settings.replace(ETH_RPC_URL=anvil.url, PAYMENT_CONFIRMATIONS=3, PAYMENT_RECHECK_SECONDS=0.2,
                               PAYMENT_SWEEP_AFTER_SECONDS=3600)
    app, context = chain_app(db, patient, monkeypatch)
    client = app.test_client()
    token, body = _submission(client, media)
    assert _post(client, token, body["id"], pay(anvil.web3, KEY, RECEIVER, 10**16)).get_json()["status"] == \
        "payment_pending"

    def state():
        return client.get(f"/api/submissions/{body['id']}/", headers=bearer(token)).get_json()

    # Checked a moment ago: not lost yet.
    assert recheck_lost_payments(context.db, patient, check_submission_payment.send) == {"checks_sent": 0}
    # A replaced checker's message stops without asking the node.
    stale, current = claim_payment_checker(db, body["id"]), claim_payment_checker(db, body["id"])
    assert stale and current and stale != current
    checks = state()["payment"]["checks"]
    check_submission_payment.fn(body["id"], stale)
    assert state()["payment"]["checks"] == checks and "checker" not in state()["payment"]

    # No relay runs, so the payment.pending event never starts a check chain: as if its message was lost.
    overdue = dataclasses.replace(context, settings=patient.replace(PAYMENT_SWEEP_AFTER_SECONDS=0))
    monkeypatch.setattr("workers.submission_actors.submission_context", lambda: overdue)
    with pipeline_runtime(patient, queues=("light",), relay=False):
        anvil.mine(2)
        assert recheck_lost_payments(overdue.db, overdue.settings, check_submission_payment.send) == \
            {"checks_sent": 1}
        wait_for(lambda: state()["status"] == "paid", timeout=20, message="the sweep's check confirms the payment")
