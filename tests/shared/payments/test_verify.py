"""The payment rules on web3's in-process chain (fast): every refusal has its own code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from web3 import Web3

from shared.db import utcnow
from shared.payments import errors
from shared.payments.chain import Chain
from shared.payments.devchain import ACCOUNTS, CHAIN_ID
from shared.payments.devchain import tester_provider as in_process_chain
from shared.payments.verify import Confirmed, Expectation, Pending, verify_payment
from tests.support.chain import deploy_token, pay, transfer_token

PRICE = 10**16
(PAYER, PAYER_KEY), (OTHER, OTHER_KEY) = ACCOUNTS[0], ACCOUNTS[1]
RECEIVER = ACCOUNTS[-1][0]


@pytest.fixture()
def tester():
    provider = in_process_chain()
    return provider, Web3(provider), Chain(provider)


def expect(**changes) -> Expectation:
    values = {"wallet": PAYER, "receiver": RECEIVER, "amount_wei": PRICE, "chain_id": CHAIN_ID, "confirmations": 1,
              "expires_at": utcnow() + timedelta(days=3650)}
    values.update(changes)
    return Expectation(**values)


def test_an_exact_eth_payment_from_the_wallet_to_the_receiver_is_confirmed(tester):
    _, web3, chain = tester
    tx = pay(web3, PAYER_KEY, RECEIVER, PRICE)
    verdict = verify_payment(chain, expect(), tx)
    assert isinstance(verdict, Confirmed)
    assert (verdict.asset, verdict.amount, verdict.confirmations) == ("ETH", PRICE, 1)


def test_a_payment_waits_for_its_confirmations(tester):
    provider, web3, chain = tester
    tx = pay(web3, PAYER_KEY, RECEIVER, PRICE)
    assert verify_payment(chain, expect(confirmations=3), tx) == Pending("confirmations", 1, 3)
    provider.ethereum_tester.mine_blocks(2)
    assert isinstance(verify_payment(chain, expect(confirmations=3), tx), Confirmed)


@pytest.mark.parametrize("case, error", [
    ("underpaid by one wei", errors.PaymentUnderpaid),
    ("wrong recipient", errors.PaymentWrongRecipient),
    ("another wallet's transaction", errors.PaymentWrongSender),
    ("another chain id", errors.PaymentWrongChain),
])
def test_a_payment_is_refused_with_the_reason(tester, case, error):
    _, web3, chain = tester
    if case == "underpaid by one wei":
        tx = pay(web3, PAYER_KEY, RECEIVER, PRICE - 1)
    elif case == "wrong recipient":
        tx = pay(web3, PAYER_KEY, OTHER, PRICE)
    elif case == "another wallet's transaction":
        tx = pay(web3, OTHER_KEY, RECEIVER, PRICE)
    else:
        # The in-process chain takes a transaction signed for chain 1; the rules must not.
        tx = pay(web3, PAYER_KEY, RECEIVER, PRICE, chain_id=1)
    with pytest.raises(error) as refused:
        verify_payment(chain, expect(), tx)
    assert refused.value.code == error.code


def test_an_unknown_transaction_is_pending_not_refused(tester):
    _, _, chain = tester
    assert verify_payment(chain, expect(), "0x" + "ab" * 32) == Pending("not_found")


def test_a_node_on_another_chain_refuses_every_payment():
    provider = in_process_chain(chain_id=1)
    with pytest.raises(errors.PaymentWrongChain):
        verify_payment(Chain(provider), expect(), "0x" + "ab" * 32)


def test_an_allow_listed_token_pays_and_a_look_alike_token_is_refused(tester):
    _, web3, chain = tester
    real = deploy_token(web3, PAYER_KEY)
    fake = deploy_token(web3, PAYER_KEY)  # same name, symbol and code: only the address differs
    terms = expect(tokens={real: 5_000_000})
    paid = transfer_token(web3, PAYER_KEY, real, RECEIVER, 5_000_000)
    verdict = verify_payment(chain, terms, paid)
    assert isinstance(verdict, Confirmed) and (verdict.asset, verdict.amount) == (real, 5_000_000)
    with pytest.raises(errors.PaymentUnknownToken):
        verify_payment(chain, terms, transfer_token(web3, PAYER_KEY, fake, RECEIVER, 5_000_000))
    with pytest.raises(errors.PaymentUnderpaid):
        verify_payment(chain, terms, transfer_token(web3, PAYER_KEY, real, RECEIVER, 4_999_999))


def test_a_reverted_token_transfer_is_a_failed_tx(tester):
    _, web3, chain = tester
    token = deploy_token(web3, PAYER_KEY, supply=10)
    tx = transfer_token(web3, PAYER_KEY, token, RECEIVER, 5_000_000)  # more than the balance: reverts
    with pytest.raises(errors.PaymentFailedTx):
        verify_payment(chain, expect(tokens={token: 5_000_000}), tx)


def test_a_payment_mined_after_the_quote_expired_is_refused(tester):
    _, web3, chain = tester
    tx = pay(web3, PAYER_KEY, RECEIVER, PRICE)
    with pytest.raises(errors.PaymentQuoteExpired):
        verify_payment(chain, expect(expires_at=utcnow() - timedelta(days=3650)), tx)


def test_web3_failures_become_chain_unavailable():
    chain = Chain(Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 1},
                                    exception_retry_configuration=None))
    with pytest.raises(errors.ChainUnavailable) as unavailable:
        verify_payment(chain, expect(), "0x" + "ab" * 32)
    assert unavailable.value.transient


def test_finality_a_node_that_calls_its_head_final_falls_back_to_confirmations(tester):
    provider, web3, chain = tester
    tx = pay(web3, PAYER_KEY, RECEIVER, PRICE)
    assert chain.finalized() == chain.head()  # web3's tester chain: no consensus, its head is "finalized"
    assert verify_payment(chain, expect(confirmations=3, finalized_tag=True), tx) == Pending("confirmations", 1, 3)
    provider.ethereum_tester.mine_blocks(2)
    assert verify_payment(chain, expect(confirmations=3, finalized_tag=True), tx).final_by == "confirmations"
