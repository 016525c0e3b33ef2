"""The re-check of a paid submission's payment before convert and before publishing (money path)."""

from __future__ import annotations

import uuid

import pytest

from shared.payments.verify import Confirmed
from shared.submissions import payment
from shared.submissions.models import Submission
from shared.submissions.service import SubmissionContext
from tests.support.submissions import add_paid_submission

TX = "0x" + "ab" * 32


def _paid(db) -> uuid.UUID:
    return add_paid_submission(db, status="processing", tx_hash=TX, posted_tx_hash=TX,
                               payment={"state": "confirmed", "block_hash": "0xold", "block_number": 7})


def _moved_to_a_new_block(meanwhile=None):
    """A chain answer: the payment is final, in another block than the one recorded (a reorg re-mined it)."""

    def verify(chain, expectation, tx_hash):
        if meanwhile is not None:
            meanwhile()
        return Confirmed(block_number=8, block_hash="0xnew", confirmations=3, asset="ETH", amount=1)

    return verify


@pytest.fixture()
def ctx(db, settings):
    return SubmissionContext(db=db, settings=settings, chain=lambda: None, storage=lambda: None)


def test_a_payment_re_mined_in_another_block_is_recorded_and_the_run_goes_on(ctx, db, monkeypatch):
    submission_id = _paid(db)
    monkeypatch.setattr(payment, "verify_payment", _moved_to_a_new_block())

    assert payment.reverify_payment(ctx, submission_id, run=1) is True

    with db.session() as session:
        assert session.get(Submission, submission_id).payment["block_hash"] == "0xnew"


def test_a_submission_refused_during_the_chain_call_is_not_written_to_and_its_run_stops(ctx, db, monkeypatch):
    """The chain call runs outside any transaction. A concurrent check that released the hash
    (the submission waits for another payment) must not get the old payment's block written
    back onto it, and the run that asked must stop, not go on rendering for an unpaid row."""
    submission_id = _paid(db)

    def refused_meanwhile():
        with db.session() as session:
            row = session.get(Submission, submission_id)
            row.status, row.tx_hash, row.posted_tx_hash, row.payment = "awaiting_payment", None, None, None

    monkeypatch.setattr(payment, "verify_payment", _moved_to_a_new_block(refused_meanwhile))

    assert payment.reverify_payment(ctx, submission_id, run=1) is False

    with db.session() as session:
        row = session.get(Submission, submission_id)
        assert (row.status, row.payment) == ("awaiting_payment", None)


def test_a_submission_deleted_during_the_chain_call_stops_the_run_without_an_error(ctx, db, monkeypatch):
    submission_id = _paid(db)

    def deleted_meanwhile():
        with db.session() as session:
            session.delete(session.get(Submission, submission_id))

    monkeypatch.setattr(payment, "verify_payment", _moved_to_a_new_block(deleted_meanwhile))

    assert payment.reverify_payment(ctx, submission_id, run=1) is False
