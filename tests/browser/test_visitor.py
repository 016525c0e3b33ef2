"""The visitor pages in Chromium: the whole paid journey from the form to a playing profile video,
driven by the page's own code against a test wallet (an injected EIP-1193 provider backed by a
dev-chain account), and the refusals a visitor meets, shown in words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.browser.wallet import InjectedWallet
from tests.support.media import h264_mp4, png_bytes

# Dev-chain accounts these tests pay from (others in this folder use other ones; the last is the receiver).
JOURNEY_ACCOUNT = 6
REFUSALS_ACCOUNT = 7
FLAGGED_TAG = "damn"  # the lexicon answers needs_review: the profile publishes with it hidden
REJECTED_TAG = "fuck"  # rejected: the form refuses it


def settle(locator, script: str, timeout_ms: int = 15_000):
    """Run ``script`` (a function of the element answering a promise) and wait for its result.

    The pages' CSP forbids eval, which Playwright's ``wait_for_function`` needs; a promise the page
    resolves from its own events does not.
    """
    return locator.evaluate(f"""(node) => Promise.race([
        ({script})(node),
        new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), {timeout_ms})),
    ])""")


LOADED_METADATA = """(video) => video.readyState >= 1 ? video.duration : new Promise((resolve, reject) => {
    video.addEventListener("loadedmetadata", () => resolve(video.duration), { once: true });
    video.addEventListener("error", () => reject(new Error("video error " + (video.error && video.error.code))), { once: true });
})"""

PLAYS = """(video) => new Promise((resolve, reject) => {
    const start = video.currentTime;
    video.muted = true;
    video.addEventListener("timeupdate", () => { if (video.currentTime > start + 0.5) resolve(video.currentTime); });
    video.addEventListener("error", () => reject(new Error("video error " + (video.error && video.error.code))));
    video.play().catch(reject);
})"""


@pytest.fixture()
def media(tmp_path) -> dict[str, Path]:
    avatar = tmp_path / "me.png"
    avatar.write_bytes(png_bytes(640, 480))
    text = tmp_path / "holiday.mp4"
    text.write_text("not a video at all, just text with a video's name\n")
    return {"avatar": avatar, "video": h264_mp4(tmp_path / "me.mp4", seconds=3.0, size="320x240"), "text": text}


def wallet_for(dev_chain: dict, account: int, **kwargs) -> InjectedWallet:
    return InjectedWallet(dev_chain["accounts"][account]["private_key"], dev_chain["rpc_url"], **kwargs)


def slow_uploads(context, page, bytes_per_second: int | None):
    """Throttle the page's uploads (Chrome DevTools network emulation), or lift it with None."""
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1,
        "uploadThroughput": bytes_per_second if bytes_per_second else -1})
    return cdp


def test_a_visitor_publishes_a_profile_from_the_page_and_its_video_plays(
        system, dev_chain, context_factory, console_errors, shot, media):
    wallet = wallet_for(dev_chain, JOURNEY_ACCOUNT, reject={"eth_sendTransaction"})  # the first "Pay" is declined
    context = context_factory(wallet=wallet)
    page = console_errors.watch(context.new_page())
    page.goto(system.base + "/")

    # Given the form, checked as the visitor types: a rejected tag is an error of the field...
    page.fill("#name", "Ann Lee")
    page.fill("#url", "https://ann.example.com")
    page.fill("#activity_hobbies", "Climbing and bread.\nWeekend film maker.")
    page.fill("#hashtags", f"#travel #{REJECTED_TAG}")
    expect(page.locator("#hashtags-error")).to_contain_text(f"#{REJECTED_TAG}")
    expect(page.locator("#hashtags")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f'#hashtag-chips li[data-tag="{REJECTED_TAG}"]')).to_contain_text("not allowed")
    # ...and a flagged one is warned inline, with its reason, but may go on.
    page.fill("#hashtags", f"#travel #{FLAGGED_TAG}")
    flagged = page.locator(f'#hashtag-chips li[data-tag="{FLAGGED_TAG}"]')
    expect(flagged).to_contain_text("needs review")
    expect(flagged).to_contain_text("hidden on your profile")
    expect(flagged).to_have_class(re.compile(r"\bflagged\b"))
    expect(page.locator('#hashtag-chips li[data-tag="travel"]')).to_have_attribute("data-verdict", "approved")
    expect(page.locator("#hashtags-error")).to_be_hidden()
    expect(page.locator("#hashtags")).to_have_attribute("aria-invalid", "false")

    # When the files are picked: the upload shows its progress, then a preview.
    page.set_input_files("#avatar", str(media["avatar"]))
    expect(page.locator("#avatar-picker img.preview-image")).to_have_js_property("naturalWidth", 640)
    cdp = slow_uploads(context, page, 128 * 1024)
    page.set_input_files("#video", str(media["video"]))
    progress = page.locator("#video-picker .progress-text")
    expect(progress).to_have_text(re.compile(r"^[1-9]\d?%$"))  # part way: neither 0% nor 100%
    shot(page, "1-uploading")
    expect(page.locator("#video-picker figure.preview")).to_be_visible(timeout=30_000)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                   "uploadThroughput": -1})
    expect(page.locator("#video-picker .upload-progress")).to_be_hidden()
    preview = page.locator("#video-picker video")
    expect(preview).to_have_attribute("poster", re.compile(r"/api/uploads/.+/poster\?token="))
    assert settle(preview, LOADED_METADATA) == pytest.approx(3.0, abs=0.2)  # the uploaded MP4 itself plays
    expect(page.locator("#video-picker figcaption")).to_contain_text("320 × 240")
    shot(page, "2-form-and-previews")

    # The wallet: connect, sign in, pay (the page switches the wallet from mainnet to the quoted chain).
    page.click("#connect")
    expect(page.locator("#wallet-account")).to_have_text(re.compile(wallet.address[:6]))
    page.click("#sign-in")
    expect(page.locator("#sign-in")).to_have_text("Signed in")
    page.click("#pay")
    expect(page.locator("#quote-amount")).to_have_text(re.compile(r"ETH$"))
    expect(page.locator("#pay-error")).to_have_text(re.compile(r"^You declined the request in your wallet\. Nothing happened"))
    expect(page.locator("#pay")).to_be_enabled()
    submission_id = re.search(r"submission=([0-9a-f-]{36})", page.url).group(1)

    # A reload mid-flow picks the submission up from the URL: details fixed, quote, previews, Pay again.
    page.reload()
    expect(page.locator("#resume-note")).to_contain_text("Welcome back")
    expect(page.locator("#name")).to_have_value("Ann Lee")
    expect(page.locator("#name")).to_be_disabled()
    expect(page.locator("#quote-amount")).to_have_text(re.compile(r"ETH$"))
    expect(page.locator("#avatar-picker img.preview-image")).to_have_js_property("naturalWidth", 640)
    expect(page.locator("#video-picker figure.preview")).to_be_visible()
    wallet.reject.clear()
    page.click("#pay")
    expect(page.locator("#progress-section")).to_be_visible()
    shot(page, "3-paying")

    # Then the timeline goes live to "published".
    expect(page.locator('#timeline [data-stage="published"]')).to_have_attribute("data-state", "done", timeout=90_000)
    for stage in ("payment_pending", "paid", "convert", "preview", "upload"):
        expect(page.locator(f'#timeline [data-stage="{stage}"]')).to_have_attribute("data-state", "done")
    expect(page.locator("#timeline-status")).to_have_text("Published! Your profile is live.")
    shot(page, "4-published")
    assert [call for call in wallet.calls if call not in {"eth_chainId", "eth_accounts"}] == [
        "eth_requestAccounts", "personal_sign", "wallet_switchEthereumChain", "eth_sendTransaction",
        "eth_sendTransaction"]  # the declined one, then the same submission paid once after the reload
    assert len(wallet.sent) == 1
    urls = context.requests_seen.urls
    assert f"{system.base}/api/submissions/{submission_id}/events/" in urls
    # Read once by the reload; after that live from the stream, never polled.
    assert urls.count(f"{system.base}/api/submissions/{submission_id}/") == 1

    # A reload after the end shows the finished timeline.
    page.reload()
    expect(page.locator('#timeline [data-stage="published"]')).to_have_attribute("data-state", "done")
    expect(page.locator("#profile-link")).to_be_visible()

    # The public profile: the flagged tag stays hidden, and the WebM plays.
    page.click("#profile-link")
    expect(page).to_have_url(f"{system.base}/p/{wallet.address}")
    expect(page.locator("h1")).to_have_text("Ann Lee")
    expect(page.locator("#profile-link")).to_have_attribute("href", "https://ann.example.com")
    expect(page.locator("#profile-tags li")).to_have_text(["#travel"])
    expect(page.locator("#profile-about")).to_contain_text("Weekend film maker.")
    avatar = page.locator("img.avatar")
    expect(avatar).to_have_attribute("srcset", re.compile(r" 128w, .+ 512w"))
    expect(avatar).to_have_js_property("complete", True)
    assert ".webp" in avatar.evaluate("(img) => img.currentSrc")
    video = page.locator("#profile-video")
    expect(video).to_have_attribute("poster", re.compile(r"/files/profiles/.+poster\.jpg"))
    assert settle(video, PLAYS, timeout_ms=20_000) > 0.5
    shot(page, "5-profile")
    public = requests.get(f"{system.base}/api/profiles/{wallet.address}/", timeout=10).json()
    assert public["hashtags"] == ["travel"]

    phone = context_factory(viewport=PHONE).new_page()
    phone.goto(f"{system.base}/p/{wallet.address}")
    expect(phone.locator("h1")).to_have_text("Ann Lee")
    expect(phone.locator("img.avatar")).to_have_js_property("complete", True)
    assert phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    shot(phone, "6-profile-phone")


def test_a_file_the_server_refuses_is_explained_next_to_its_picker(system, context_factory, console_errors, shot,
                                                                     media):
    page = console_errors.watch(context_factory().new_page())
    page.goto(system.base + "/")

    page.set_input_files("#video", str(media["text"]))  # text named .mp4: 415 unsupported_media_type
    expect(page.locator("#video-error")).to_contain_text("not a picture or a video we can read")
    expect(page.locator("#video")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#video-picker figure.preview")).to_be_hidden()
    assert "video-error" in page.get_attribute("#video", "aria-describedby")

    page.set_input_files("#video", str(media["avatar"]))  # a picture in the video picker: upload_kind_mismatch
    expect(page.locator("#video-error")).to_contain_text("put the picture in “Profile picture”")
    shot(page, "bad-file")


def test_a_wallet_connected_before_the_session_check_answers_stays_connected(system, dev_chain, context_factory,
                                                                              console_errors):
    # Found by a CI run where the session check answered late: the page's start-up then wrote its
    # "no account" over the account the visitor had just connected, and "Sign in" stayed disabled.
    page = console_errors.watch(context_factory(wallet=wallet_for(dev_chain, REFUSALS_ACCOUNT)).new_page())
    held = []
    page.route("**/api/auth/me/", lambda route: held.append(route))  # the session check waits until released
    page.goto(system.base + "/")
    page.click("#connect")
    expect(page.locator("#connect")).to_have_text("Wallet connected")
    assert held, "the page asked for its session"
    with page.expect_response("**/api/auth/me/"):
        for route in held:
            route.continue_()
    page.wait_for_timeout(500)  # the page's start-up takes the answer in (the old code disabled "Sign in" here)

    expect(page.locator("#wallet-account")).not_to_be_empty()
    expect(page.locator("#sign-in")).to_be_enabled()


def test_a_declined_wallet_prompt_is_calm_and_pay_first_checks_the_form(system, dev_chain, context_factory,
                                                                         console_errors, shot):
    wallet = wallet_for(dev_chain, REFUSALS_ACCOUNT, reject={"personal_sign"})
    page = console_errors.watch(context_factory(wallet=wallet).new_page())
    page.goto(system.base + "/")
    page.click("#connect")
    page.click("#sign-in")
    expect(page.locator("#pay-error")).to_have_text(re.compile(r"^You declined the request in your wallet\."))
    expect(page.locator("#sign-in")).to_be_enabled()
    shot(page, "declined-sign-in")

    wallet.reject.clear()
    page.click("#sign-in")
    expect(page.locator("#sign-in")).to_have_text("Signed in")
    expect(page.locator("#pay-error")).to_be_hidden()

    page.click("#pay")  # nothing filled in: the fields say why, and the wallet is not asked to pay
    expect(page.locator("#name-error")).to_contain_text("name is required")
    expect(page.locator("#name")).to_be_focused()
    expect(page.locator("#pay-error")).to_contain_text("Some details need attention")
    assert "eth_sendTransaction" not in wallet.calls


def test_the_wallet_buttons_wait_for_the_scripts_so_an_early_click_is_never_lost(system, dev_chain, context_factory,
                                                                                console_errors):
    """The scripts start once the language catalogue arrives: until then Connect is disabled, not dead."""
    wallet = wallet_for(dev_chain, REFUSALS_ACCOUNT)
    page = console_errors.watch(context_factory(wallet=wallet).new_page())
    held = []
    page.route("**/i18n/**", lambda route: held.append(route))
    page.goto(system.base + "/", wait_until="domcontentloaded")
    page.wait_for_timeout(300)
    assert held, "the page asked for no catalogue"
    expect(page.locator("#connect")).to_be_disabled()
    for route in held:
        route.continue_()
    page.unroute("**/i18n/**")
    page.click("#connect")
    expect(page.locator("#sign-in")).to_be_enabled()


def test_a_file_picked_before_the_scripts_run_is_uploaded_once_they_do(system, context_factory, console_errors,
                                                                        media):
    page = console_errors.watch(context_factory().new_page())
    held = []
    page.route("**/i18n/**", lambda route: held.append(route))
    page.goto(system.base + "/", wait_until="domcontentloaded")
    page.wait_for_timeout(300)
    assert held, "the page asked for no catalogue"
    page.set_input_files("#video", str(media["text"]))  # its change event fires before any listener exists
    for route in held:
        route.continue_()
    page.unroute("**/i18n/**")
    expect(page.locator("#video-error")).to_contain_text("not a picture or a video we can read")


def test_without_a_wallet_the_page_says_what_to_install(system, context_factory, console_errors):
    page = console_errors.watch(context_factory().new_page())
    page.goto(system.base + "/")
    expect(page.locator("#wallet-missing")).to_be_visible()
    expect(page.locator("#wallet-missing")).to_contain_text("Install MetaMask")
    page.click("#connect")
    expect(page.locator("#wallet-status")).to_contain_text("No Ethereum wallet was found")


def test_on_a_phone_every_field_is_labelled_and_tab_follows_the_reading_order(system, dev_chain, context_factory,
                                                                               console_errors, shot):
    wallet = wallet_for(dev_chain, REFUSALS_ACCOUNT)
    page = console_errors.watch(context_factory(viewport=PHONE, wallet=wallet).new_page())
    page.goto(system.base + "/")
    for label, field in [("Name", "name"), ("Link (optional)", "url"), ("What you do and love (optional)",
                         "activity_hobbies"), ("Hashtags (optional)", "hashtags"), ("Incognito", "is_incognito"),
                         ("Profile picture", "avatar"), ("Video", "video")]:
        expect(page.get_by_label(label, exact=True)).to_have_attribute("id", field)

    page.fill("#hashtags", f"#travel #{FLAGGED_TAG} #{REJECTED_TAG}")
    expect(page.locator("#hashtag-chips li")).to_have_count(3)
    page.focus("#name")
    order = [page.evaluate("document.activeElement.id")]
    for _ in range(7):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id"))
    assert order == ["name", "url", "activity_hobbies", "hashtags", "is_incognito", "avatar", "video", "connect"]
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    shot(page, "form-phone")
