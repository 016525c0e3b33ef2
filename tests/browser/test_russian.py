"""The visitor pages in Russian (issue 15): the whole journey start to published with a Russian browser,
the phone layout with its longer words, and the catalogue with the tags a messenger preview reads."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE
from tests.browser.flows import publish_profile
from tests.browser.test_visitor import FLAGGED_TAG, LOADED_METADATA, PLAYS, REJECTED_TAG, settle, wallet_for
from tests.support.media import h264_mp4, png_bytes

RUSSIAN_ACCOUNT = 2  # the dev-chain accounts this module pays from (others here use 5 to 8)
CATALOGUE_ACCOUNTS = (3, 4)
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


@pytest.fixture()
def media(tmp_path) -> dict:
    avatar = tmp_path / "me.png"
    avatar.write_bytes(png_bytes(640, 480))
    return {"avatar": avatar, "video": h264_mp4(tmp_path / "me.mp4", seconds=3.0, size="320x240")}


def russian(context_factory, **kwargs):
    """A browser set to Russian (its Accept-Language says ru-RU): no switcher, no ?lang=."""
    return context_factory(locale="ru-RU", **kwargs)


def no_sideways_scroll(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_russian_visitor_journey_from_the_form_to_a_published_profile(system, dev_chain, context_factory,
                                                                       console_errors, shot, media):
    wallet = wallet_for(dev_chain, RUSSIAN_ACCOUNT)
    page = console_errors.watch(russian(context_factory, wallet=wallet).new_page())
    page.goto(system.base + "/")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("h1")).to_have_text("Опубликуйте свой видеопрофиль")
    for label, field in [("Имя", "name"), ("Ссылка (необязательно)", "url"), ("Хэштеги (необязательно)", "hashtags"),
                         ("Фото профиля", "avatar"), ("Видео", "video")]:
        expect(page.get_by_label(label, exact=True)).to_have_attribute("id", field)
    expect(page.locator('.languages a[aria-current="true"]')).to_have_text("Русский")

    page.fill("#name", "Анна Ли")
    page.fill("#hashtags", f"#путешествия #{REJECTED_TAG}")
    # A refused hashtag, explained in Russian (the verdict, the category and the matched word).
    refused = page.locator(f'#hashtag-chips li[data-tag="{REJECTED_TAG}"]')
    expect(refused).to_contain_text("запрещён")
    expect(refused).to_contain_text("содержит мат")
    expect(page.locator("#hashtags-error")).to_contain_text(f"#{REJECTED_TAG}: содержит мат")
    page.fill("#hashtags", f"#путешествия #{FLAGGED_TAG}")
    flagged = page.locator(f'#hashtag-chips li[data-tag="{FLAGGED_TAG}"]')
    expect(flagged).to_contain_text("на проверке")
    expect(flagged).to_contain_text("его проверит модератор. До тех пор он скрыт в вашем профиле.")
    expect(page.locator("#hashtags-error")).to_be_hidden()

    page.set_input_files("#avatar", str(media["avatar"]))
    expect(page.locator("#avatar-status")).to_have_text("Фото загружено.")
    page.set_input_files("#video", str(media["video"]))
    expect(page.locator("#video-status")).to_have_text("Видео загружено.", timeout=30_000)
    # Numbers and sizes for the locale: a decimal comma, Russian units.
    expect(page.locator("#video-picker figcaption")).to_contain_text(re.compile(r"3,0 с, [\d,]+ (КБ|МБ|байт)"))
    assert settle(page.locator("#video-picker video"), LOADED_METADATA) == pytest.approx(3.0, abs=0.2)
    shot(page, "1-form-ru")

    page.click("#connect")
    expect(page.locator("#connect")).to_have_text("Кошелёк подключён")
    page.click("#sign-in")
    expect(page.locator("#sign-in")).to_have_text("Вход выполнен")
    page.click("#pay")
    expect(page.locator("#quote-amount")).to_have_text(re.compile(r"ETH$"))
    # The timeline in Russian, live to "published".
    expect(page.locator('#timeline [data-stage="published"]')).to_have_attribute("data-state", "done", timeout=90_000)
    expect(page.locator("#timeline-status")).to_have_text("Опубликовано! Ваш профиль доступен всем.")
    expect(page.locator('#timeline [data-stage="convert"] .stage-label')).to_have_text("Видео сконвертировано")
    expect(page.locator('#timeline [data-stage="convert"] .stage-state')).to_have_text(" (готово)")
    expect(page.locator("#profile-link")).to_have_text("Открыть профиль")
    shot(page, "2-published-ru")

    page.click("#profile-link")
    expect(page.locator("h1")).to_have_text("Анна Ли")
    expect(page.locator("#profile-published")).to_contain_text(re.compile(r"^Опубликован \d+ [а-я]+\.? \d{4}"))
    expect(page.locator("#profile-tags li")).to_have_text(["#путешествия"])
    assert settle(page.locator("#profile-video"), PLAYS, timeout_ms=20_000) > 0.5
    shot(page, "3-profile-ru")


def test_russian_on_a_phone_has_no_sideways_scroll(system, context_factory, console_errors, shot):
    for path in ("/", "/catalogue", "/moderation", "/ops", "/no-such-page"):
        page = console_errors.watch(russian(context_factory, viewport=PHONE).new_page())
        page.goto(system.base + path)
        page.wait_for_load_state("networkidle")
        assert CYRILLIC.search(page.locator("h1").inner_text()), path
        assert no_sideways_scroll(page) <= 0, f"{path} scrolls sideways in Russian on a phone"
        shot(page, "phone-ru" + path.replace("/", "-"))
        page.close()


def test_the_switcher_changes_the_language_and_remembers_it(system, context_factory, console_errors):
    page = console_errors.watch(context_factory().new_page())
    page.goto(system.base + "/")
    expect(page.locator("h1")).to_have_text("Publish your video profile")
    page.click('.languages a[hreflang="ru"]')
    expect(page.locator("h1")).to_have_text("Опубликуйте свой видеопрофиль")
    # Words of the scripts, from the JSON catalogue: the wallet is missing in this browser.
    expect(page.locator("#wallet-missing")).to_be_visible()  # the page's script has started
    page.click("#connect")
    expect(page.locator("#wallet-status")).to_contain_text("В этом браузере не найден кошелёк Ethereum")
    page.goto(system.base + "/catalogue")  # no ?lang=: the cookie remembers
    expect(page.locator("html")).to_have_attribute("lang", "ru")


def test_the_catalogue_filter_and_the_preview_tags_of_a_profile(system, dev_chain, context_factory, console_errors,
                                                                tmp_path, shot):
    tag = "скалолазание"
    climber = publish_profile(system.base, dev_chain, account=CATALOGUE_ACCOUNTS[0], folder=tmp_path,
                              profile={"name": "Вера Скалова", "hashtags": f"#{tag} #travel"})
    other = publish_profile(system.base, dev_chain, account=CATALOGUE_ACCOUNTS[1], folder=tmp_path,
                            profile={"name": "Пётр Другой", "hashtags": "#music"})
    page = console_errors.watch(russian(context_factory).new_page())
    page.goto(f"{system.base}/p/{climber}")
    # Read back what a messenger preview reads: server-rendered tags, stable links that redirect to the media.
    og = {name: page.locator(f'meta[property="{name}"]').get_attribute("content")
          for name in ("og:title", "og:image", "og:video", "og:video:type")}
    assert og["og:title"] == "Вера Скалова"
    assert og["og:image"].endswith(f"/p/{climber}/poster.jpg") and og["og:video"].endswith(f"/p/{climber}/video.webm")
    assert og["og:video:type"] == "video/webm"
    assert page.locator('link[rel="canonical"]').get_attribute("href").endswith(f"/p/{climber}")
    poster = page.request.get(og["og:image"].replace(og["og:image"].split("/p/")[0], system.base))
    assert poster.ok and poster.headers["content-type"] == "image/jpeg"

    # Clicking a tag on the profile opens the catalogue filtered by it.
    page.click(f'#profile-tags a:has-text("#{tag}")')
    expect(page.locator("h1")).to_have_text(f"Профили с хэштегом #{tag}")
    expect(page.locator("#catalogue li.catalogue-item")).to_have_count(1)
    expect(page.locator("#catalogue h2")).to_have_text(["Вера Скалова"])
    expect(page.locator("#catalogue-summary")).to_have_text("1 профиль, сначала новые.")
    shot(page, "catalogue-tag")
    # Search by a part of the name, any case.
    page.fill("#tag", "")
    page.fill("#q", "пётр")
    page.click('#catalogue-search button[type="submit"]')
    expect(page.locator("#catalogue h2")).to_have_text(["Пётр Другой"])
    page.click("#catalogue h2 a")
    expect(page).to_have_url(f"{system.base}/p/{other}")
