"""A paid submission whose processing failed is processed again from the page, without paying again."""

from __future__ import annotations

import signal
from contextlib import contextmanager
from pathlib import Path

import psutil
import requests
from playwright.sync_api import expect

from shared.db import get_database
from shared.payments.devwallet import pay
from shared.submissions import pipeline
from shared.submissions.service import SubmissionContext
from tests.browser.flows import new_submission
from tests.browser.wallet import InjectedWallet
from tests.support.runtime import wait_for

RETRY_ACCOUNT = 5  # others in this folder pay from 6, 7 and 8


@contextmanager
def paused_worker(system, queue: str):
    """SIGSTOP the system's worker of ``queue`` (as a stuck worker), SIGCONT it on exit."""
    workers = [child for child in psutil.Process(system.process.pid).children(recursive=True)
               if child.cmdline()[-3:] == ["workers", "worker", queue]]
    assert workers, "no worker process of that queue"
    for worker in workers:
        worker.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGCONT)


def _paid_then_failed(system, chain: dict, settings, folder: Path) -> str:
    """A submission paid on the dev chain whose pipeline failed as the workers fail it when a step
    keeps failing through every retry; its id."""
    key = chain["accounts"][RETRY_ACCOUNT]["private_key"]
    token, submission_id = new_submission(system.base, chain, account=RETRY_ACCOUNT, folder=folder,
                                          profile={"name": "Bo Retry", "hashtags": "#film"})
    auth = {"Authorization": f"Bearer {token}"}
    data_dir = system.env["DATA_DIR"]
    embedded = settings.replace(DATABASE_URL=f"sqlite:///{data_dir}/showreel.db", TEMP_DIR=f"{data_dir}/tmp")
    context = SubmissionContext(db=get_database(embedded), settings=embedded, chain=None, storage=None)
    with paused_worker(system, "video"):
        assert pay(system.base, chain["rpc_url"], key, token, submission_id)["status_code"] == 202
        wait_for(lambda: requests.get(f"{system.base}/api/submissions/{submission_id}/", headers=auth, timeout=10)
                 .json()["status"] == "paid", timeout=30, message="the payment to count")
        assert pipeline.fail_submission(context, submission_id, "retries_exhausted", "convert failed 20 times",
                                        run=1)
    return submission_id


def test_a_visitor_has_a_failed_paid_submission_processed_again_without_paying_again(
        system, dev_chain, settings, context_factory, console_errors, shot, tmp_path):
    submission_id = _paid_then_failed(system, dev_chain, settings, tmp_path)
    wallet = InjectedWallet(dev_chain["accounts"][RETRY_ACCOUNT]["private_key"], dev_chain["rpc_url"])
    page = console_errors.watch(context_factory(wallet=wallet).new_page())
    page.goto(f"{system.base}/?submission={submission_id}")
    page.click("#connect")
    page.click("#sign-in")
    expect(page.locator("#timeline-status")).to_contain_text("without paying again")
    retry = page.get_by_role("button", name="Process it again (no new payment)")
    expect(retry).to_be_visible()
    shot(page, "failed")

    retry.click()
    expect(page.locator("#timeline-status")).to_contain_text("Published", timeout=90_000)
    expect(page.locator("#profile-link")).to_be_visible()
    expect(retry).to_be_hidden()
    shot(page, "published-after-retry")
    assert "eth_sendTransaction" not in wallet.calls
