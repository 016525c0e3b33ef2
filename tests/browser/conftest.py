"""Browser tests: Debian's Chromium driven by Playwright for Python against the embedded system.

One system (what `make run` starts) serves every test in this folder; each test gets a fresh
browser context whose requests are all recorded, and fails if any of them left localhost.
Screenshots go to ``SHOWREEL_ARTIFACTS_DIR`` (default ``test-artifacts/``) as artifacts.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.browser.wallet import InjectedWallet
from tests.support.embedded import ROOT, embedded_system

CHROMIUM = Path(os.environ.get("SHOWREEL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]
ARTIFACTS = Path(os.environ.get("SHOWREEL_ARTIFACTS_DIR", ROOT / "test-artifacts"))
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
OPS_TOKEN = "ops-browser-test-token-0123456789"
MODERATOR_TOKEN = "moderator-browser-test-token-0123456789"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="package")
def system(tmp_path_factory):
    """The embedded system (SQLite, embedded Redis, dev chain, every Procfile process) on free ports."""
    with embedded_system(tmp_path_factory.mktemp("browser"), OPS_TOKEN=OPS_TOKEN,
                         MODERATOR_TOKEN=MODERATOR_TOKEN) as running:
        yield running


@pytest.fixture(scope="package")
def dev_chain(system) -> dict:
    return requests.get(f"{system.base}/api/dev/chain/", timeout=10).json()


@pytest.fixture(scope="package")
def browser():
    """Headless Chromium; tests/services.sh installs Debian's package (Playwright cannot download one here)."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `bash tests/services.sh` (installs Debian's chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Requests:
    """Every URL a browser context asked for."""

    def __init__(self):
        self.urls: list[str] = []

    def outside(self) -> list[str]:
        return [url for url in self.urls
                if urlsplit(url).scheme not in {"data", "blob"} and urlsplit(url).hostname not in LOCAL_HOSTS]


def new_context(browser, *, viewport=DESKTOP, wallet: InjectedWallet | None = None, locale: str = "en-US"):
    """A fresh context (no cookies, no storage) recording its requests; ``wallet`` becomes window.ethereum.

    ``locale`` is the browser's language: its Accept-Language and navigator.language.
    """
    context = browser.new_context(viewport=viewport, locale=locale, timezone_id="UTC")
    context.set_default_timeout(20_000)
    seen = Requests()
    context.on("request", lambda request: seen.urls.append(request.url))
    context.on("websocket", lambda socket: seen.urls.append(socket.url))
    if wallet is not None:
        wallet.install(context)
    context.requests_seen = seen
    return context


@pytest.fixture()
def context_factory(browser):
    """Make contexts with ``new_context``; on teardown fail if any request left localhost."""
    made = []

    def make(**kwargs):
        context = new_context(browser, **kwargs)
        made.append(context)
        return context

    yield make
    outside = [url for context in made for url in context.requests_seen.outside()]
    for context in made:
        context.close()
    assert not outside, f"requests left localhost: {outside}"
    assert all(context.requests_seen.urls for context in made), "a context made no request at all"


@pytest.fixture()
def shot(request):
    """``shot(page, "name")`` saves a full-page PNG under the artifacts folder and returns its path."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture()
def console_errors():
    """Attach to a page with ``console_errors.watch(page)``; the test fails on any uncaught page error."""

    class Watcher:
        def __init__(self):
            self.errors: list[str] = []

        def watch(self, page):
            page.on("pageerror", lambda error: self.errors.append(str(error)))
            page.on("console", self._console)
            return page

        def _console(self, message):
            # A 4xx the page expects (a refused field, say) is logged by Chromium too; the page shows it.
            if message.type == "error" and not message.text.startswith("Failed to load resource"):
                self.errors.append(message.text)

    watcher = Watcher()
    yield watcher
    assert not watcher.errors, f"errors on the page: {watcher.errors}"
