"""The staff consoles in Chromium against the embedded system.

A moderator signs in, approves a flagged hashtag of a published profile (paid for over HTTP first)
and the profile page then shows it; an operator runs the temp purge now and reads in the history
what it removed. Screenshots of each key state go to the artifacts folder.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, MODERATOR_TOKEN, OPS_TOKEN, PHONE
from tests.browser.flows import check_hashtag, old_temp_files, publish_profile

STAFF_ACCOUNT = 8  # the visitor tests pay with accounts 6 and 7 of the same dev chain
APPROVED_TAG = "damnfine"  # profanity of low severity: needs_review
REJECTED_TAG = "crapshoot"
NOTE = "A common phrase, not abuse"


def sign_in(page, label: str, token: str) -> None:
    page.get_by_label(label).fill(token)
    page.get_by_role("button", name="Sign in").click()


def sideways_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_moderator_approves_a_flagged_hashtag_and_the_profile_then_shows_it(
        system, dev_chain, context_factory, console_errors, shot, tmp_path):
    assert check_hashtag(system.base, f"#{APPROVED_TAG}") == "needs_review"
    assert check_hashtag(system.base, f"#{REJECTED_TAG}") == "needs_review"
    wallet = publish_profile(system.base, dev_chain, account=STAFF_ACCOUNT, folder=tmp_path, profile={
        "name": "Mo Review", "url": "", "activity_hobbies": "films",
        "hashtags": f"#travel #{APPROVED_TAG} #{REJECTED_TAG}", "is_incognito": False})
    public = f"{system.base}/api/profiles/{wallet}/"
    assert requests.get(public, timeout=10).json()["hashtags"] == ["travel"]

    context = context_factory(viewport=DESKTOP)
    visitor = console_errors.watch(context.new_page())
    visitor.goto(f"{system.base}/p/{wallet}")
    expect(visitor.get_by_text("Mo Review").first).to_be_visible()
    expect(visitor.get_by_text(re.compile(r"^#?travel$"))).to_be_visible()
    expect(visitor.get_by_text(re.compile(APPROVED_TAG))).to_have_count(0)

    page = console_errors.watch(context.new_page())
    page.goto(f"{system.base}/moderation")
    shot(page, "moderation-sign-in")
    sign_in(page, "Moderator token", MODERATOR_TOKEN)

    item = page.get_by_role("article", name=f"#{APPROVED_TAG}")
    expect(item).to_contain_text("contains profanity")
    expect(item).to_contain_text("“damn” profanity, low severity")
    expect(item.get_by_role("link", name="Mo Review")).to_have_attribute("href", f"/p/{wallet}")
    assert page.evaluate("sessionStorage.getItem('showreel.moderator-token')") == MODERATOR_TOKEN
    assert page.evaluate("localStorage.length") == 0 and MODERATOR_TOKEN not in page.url
    shot(page, "moderation-queue")
    page.set_viewport_size(PHONE)
    expect(item).to_be_visible()
    assert sideways_overflow(page) <= 0
    shot(page, "moderation-queue-phone")
    page.set_viewport_size(DESKTOP)

    # Rejecting asks first; cancelling changes nothing.
    other = page.get_by_role("article", name=f"#{REJECTED_TAG}")
    other.get_by_role("button", name=f"Reject #{REJECTED_TAG}").click()
    dialog = page.get_by_role("dialog", name=f"Reject #{REJECTED_TAG}?")
    expect(dialog).to_be_visible()
    shot(page, "moderation-reject-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(other.get_by_role("button", name=f"Reject #{REJECTED_TAG}")).to_be_focused()

    item.get_by_label("Note").fill(NOTE)
    item.get_by_role("button", name=f"Approve #{APPROVED_TAG}").click()
    status = page.locator("#status")
    expect(status).to_contain_text(f"Approved #{APPROVED_TAG}.")
    expect(status).to_contain_text(f"note: “{NOTE}”")
    expect(item).to_have_count(0)
    expect(other).to_be_visible()
    shot(page, "moderation-approved")

    page.get_by_role("button", name="Open the audit log").click()
    entry = page.locator("#audit-table tbody tr.highlight")
    expect(entry).to_contain_text(f"#{APPROVED_TAG}")
    expect(entry).to_contain_text(NOTE)
    expect(entry).to_contain_text("needs review → approved")
    shot(page, "moderation-audit")

    # The tabs follow the keyboard (arrow keys), as the WAI-ARIA tabs pattern has it.
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("tab", name=re.compile("^Appeals"))).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tab", name=re.compile("^Appeals"))).to_be_focused()

    visitor.reload()
    expect(visitor.get_by_text(re.compile(rf"^#?{APPROVED_TAG}$"))).to_be_visible()
    expect(visitor.get_by_text(re.compile(REJECTED_TAG))).to_have_count(0)
    assert set(requests.get(public, timeout=10).json()["hashtags"]) == {"travel", APPROVED_TAG}
    shot(visitor, "profile-after-approval")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Moderator token")).to_be_focused()
    assert page.evaluate("sessionStorage.length") == 0


def test_an_operator_runs_the_purge_now_and_sees_what_it_removed_in_the_history(
        system, context_factory, console_errors, shot):
    temp_dir = Path(system.env.get("TEMP_DIR") or Path(system.env["DATA_DIR"]) / "tmp")
    stale = old_temp_files(temp_dir, count=3, size=4096)

    page = console_errors.watch(context_factory(viewport=DESKTOP).new_page())
    # Hold the run "running" in what the page reads until the test has seen the page wait for it:
    # the real purge of three files ends faster than a browser can be asked anything.
    hold = {"running": True}

    def report_running(route):
        response = route.fetch()
        body = response.json()
        if hold["running"]:
            body.update(status="running", finished_at=None, duration_seconds=None, stats={})
        route.fulfill(response=response, json=body)

    page.route(re.compile(r"/api/ops/runs/[0-9a-f-]{36}/$"), report_running)
    page.goto(f"{system.base}/ops")
    sign_in(page, "Ops token", OPS_TOKEN)

    card = page.get_by_role("article", name="purge-temp")
    expect(card).to_contain_text("0 0 * * * in UTC")
    next_run = card.locator("[data-field=next] time")
    expect(next_run).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\d 00:00:00 UTC$"))
    shot(page, "ops-schedules")

    run_now = card.get_by_role("button", name="Run purge-temp now")
    run_now.click()
    expect(run_now).to_be_disabled()
    expect(run_now).to_have_text("Running…")
    expect(card).to_contain_text("Running…")
    shot(page, "ops-running")
    hold["running"] = False
    expect(run_now).to_be_enabled()
    expect(card).to_contain_text(re.compile(r"3 files \(12 KB\).* removed"))
    expect(page.locator("#status")).to_contain_text("purge-temp succeeded")

    card.get_by_role("button", name="See it in the run history").click()
    row = page.locator("#runs-table tbody tr.highlight")
    expect(row).to_contain_text("purge-temp")
    expect(row).to_contain_text("succeeded")
    row.get_by_text(re.compile(r"3 files \(12 KB\)")).click()
    for path in stale:
        expect(row).to_contain_text(f"{path.parent.name}/{path.name}")
    expect(row).to_contain_text("12 KB (12288 bytes)")
    shot(page, "ops-run-history")
    assert not any(path.exists() for path in stale)

    page.get_by_role("tab", name="Queues").click()
    expect(page.locator("#queues-table tbody tr")).to_have_count(3)
    expect(page.locator("#queues-table")).to_contain_text("video")
    shot(page, "ops-queues")


def test_an_invalid_cron_line_is_explained_next_to_the_field_and_changes_nothing(
        system, context_factory, console_errors, shot):
    page = console_errors.watch(context_factory(viewport=PHONE).new_page())
    page.goto(f"{system.base}/ops")
    sign_in(page, "Ops token", OPS_TOKEN)
    card = page.get_by_role("article", name="prune-outbox")
    card.get_by_role("button", name="Edit the schedule of prune-outbox").click()
    cron = card.get_by_label("Cron line")
    expect(cron).to_be_focused()
    cron.fill("61 * * * *")
    card.get_by_role("button", name="Save").click()
    expect(cron).to_have_attribute("aria-invalid", "true")
    expect(cron).to_have_accessible_description(re.compile(r"Not a valid cron line: .*61.* maximum value \(59\)"))
    expect(cron).to_be_focused()
    assert sideways_overflow(page) <= 0
    shot(page, "ops-invalid-cron-phone")
    api = f"{system.base}/api/ops/schedules/prune-outbox/"
    auth = {"Authorization": f"Bearer {OPS_TOKEN}"}
    assert requests.get(api, headers=auth, timeout=10).json()["cron"] == "0 1 * * *"

    try:
        cron.fill("30 2 * * *")
        card.get_by_role("button", name="Save").click()
        expect(page.locator("#status")).to_contain_text("Saved prune-outbox: 30 2 * * * in UTC, on. Next run:")
        expect(card.locator("[data-field=cron]")).to_contain_text("30 2 * * * in UTC (default 0 1 * * *)")
        expect(cron).to_be_hidden()
        assert requests.get(api, headers=auth, timeout=10).json()["cron"] == "30 2 * * *"
    finally:
        requests.put(api, headers=auth, json={"cron": "0 1 * * *"}, timeout=10).raise_for_status()


@pytest.mark.parametrize(("path", "label", "words"), [
    ("/moderation", "Moderator token", "That moderator token was not accepted"),
    ("/ops", "Ops token", "That ops token was not accepted"),
])
def test_a_wrong_token_is_refused_in_words_and_a_refused_session_returns_to_sign_in(
        system, context_factory, console_errors, shot, path, label, words):
    page = console_errors.watch(context_factory(viewport=PHONE).new_page())
    page.goto(system.base + path)
    sign_in(page, label, "not-the-right-token")
    expect(page.get_by_role("alert")).to_have_text(re.compile(words))
    expect(page.get_by_label(label)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label(label)).to_be_focused()
    expect(page.locator("#console")).to_be_hidden()
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0
    shot(page, f"{path.strip('/')}-wrong-token")

    # A token this tab kept that the server no longer accepts (revoked, rotated) signs the tab out.
    key = "showreel.moderator-token" if path == "/moderation" else "showreel.ops-token"
    page.evaluate("([key]) => sessionStorage.setItem(key, 'revoked-token')", [key])
    page.reload()
    expect(page.get_by_role("alert")).to_have_text(re.compile("no longer accepts your token"))
    expect(page.locator("#console")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0


@pytest.mark.parametrize("path", ["/moderation", "/ops"])
def test_sign_in_waits_for_the_script_so_an_early_click_never_posts_the_form(system, context_factory,
                                                                              console_errors, path):
    """The console's script starts once the language catalogue arrives; until then Sign in is disabled."""
    page = console_errors.watch(context_factory().new_page())
    held = []
    page.route("**/i18n/**", lambda route: held.append(route))
    page.goto(system.base + path, wait_until="domcontentloaded")
    page.wait_for_timeout(300)
    assert held, "the page asked for no catalogue"
    expect(page.locator("#signin-form button[type=submit]")).to_be_disabled()
    for route in held:
        route.continue_()
    page.unroute("**/i18n/**")
    expect(page.locator("#signin-form button[type=submit]")).to_be_enabled()
