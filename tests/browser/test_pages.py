"""Every page loads in Chromium from the server alone, on a desktop and on a phone."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PHONE

# An unknown profile and an unknown address are pages in words with a 404 (crawlers must not index them).
PAGES = {"/": 200, "/catalogue": 200, "/p/0x0000000000000000000000000000000000000001": 404, "/moderation": 200,
         "/ops": 200, "/no/such/page": 404}


@pytest.mark.parametrize("path", PAGES)
def test_a_page_loads_from_the_server_alone_and_fits_a_phone(system, context_factory, console_errors, path):
    page = console_errors.watch(context_factory(viewport=PHONE).new_page())
    response = page.goto(system.base + path)
    assert response.status == PAGES[path]
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert page.locator("h1").count() == 1
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow}px"


def test_the_skip_link_is_the_first_stop_and_jumps_to_the_content(system, context_factory):
    page = context_factory().new_page()
    page.goto(system.base + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_the_guard_sees_a_request_that_leaves_localhost(browser):
    from tests.browser.conftest import new_context

    context = new_context(browser)
    try:
        page = context.new_page()
        page.set_content('<img src="http://example.invalid/pixel.png" alt="">')
        page.wait_for_timeout(300)
        assert context.requests_seen.outside() == ["http://example.invalid/pixel.png"]
    finally:
        context.close()
