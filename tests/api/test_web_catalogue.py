"""Found and shared (issue 15, item 3): the catalogue page, Open Graph tags, stable media links, sitemap, robots."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from xml.etree import ElementTree

import pytest

from shared.db import utcnow
from shared.moderation.lexicon import get_matcher
from shared.profiles.service import list_profiles, save_profile

ANN = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
BOB = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
DAN = "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"
EVE = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"
VIDEO = {"webm": {"key": "profiles/s1/video.webm", "content_type": "video/webm", "size": 52_000, "width": 320,
                  "height": 240, "duration": 3.0},
         "poster": {"key": "profiles/s1/poster.jpg", "content_type": "image/jpeg", "size": 9_000, "width": 320,
                    "height": 240}}
AVATAR = {name: {"key": f"profiles/s1/avatar_{name}", "content_type": "image/jpeg", "width": width, "height": width}
          for name, width in (("small", 128), ("medium", 512), ("large", 1024))}


@pytest.fixture()
def profiles(db):
    now, matcher = utcnow(), get_matcher(db)
    with db.session() as session:
        save_profile(session, matcher, ANN, name="Анна Ёлкина", url="https://ann.example", hashtags="#Travel #climbing",
                     published_at=now - timedelta(minutes=3), video_outputs=VIDEO, avatar_outputs=AVATAR)
        save_profile(session, matcher, BOB, name="Bob Secret", hashtags="#travel", is_incognito=True,
                     published_at=now - timedelta(minutes=2), video_outputs=VIDEO)
        save_profile(session, matcher, DAN, name="Dan 100%_sure", hashtags="#music", published_at=now - timedelta(minutes=1),
                     avatar_outputs=AVATAR)
        save_profile(session, matcher, EVE, name="Eve", hashtags="#travel", published_at=now)


def meta(html: str) -> dict[str, str]:
    """<meta property|name=... content=...> of a page."""
    pairs = re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', html)
    return {key: unescape(value) for key, value in pairs}


def catalogue_wallets(html: str) -> list[str]:
    return re.findall(r'<li class="card catalogue-item" data-wallet="([^"]+)"', html)


def test_the_catalogue_lists_public_profiles_newest_first_never_incognito(client, profiles, settings):
    page = client.get("/catalogue", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert catalogue_wallets(html) == [EVE, DAN, ANN]
    assert "Bob Secret" not in html and BOB not in html
    assert "3 profiles, newest first." in html
    assert f'<link rel="canonical" href="{settings.PUBLIC_BASE_URL.rstrip("/")}/catalogue">' in html


def test_the_catalogue_filters_by_hashtag_and_searches_names_in_any_case(client, profiles):
    assert catalogue_wallets(client.get("/catalogue?tag=%23TRAVEL").get_data(as_text=True)) == [EVE, ANN]
    # Search folds case in Python (Cyrillic too, ё as е), never matching an incognito profile's hidden name.
    assert catalogue_wallets(client.get("/catalogue?q=анна елкина").get_data(as_text=True)) == [ANN]
    assert catalogue_wallets(client.get("/catalogue?q=secret").get_data(as_text=True)) == []
    # LIKE wildcards in the search are plain characters.
    assert catalogue_wallets(client.get("/catalogue?q=%25").get_data(as_text=True)) == [DAN]
    assert catalogue_wallets(client.get("/catalogue?q=_").get_data(as_text=True)) == [DAN]
    both = client.get("/catalogue?tag=travel&q=eve").get_data(as_text=True)
    assert catalogue_wallets(both) == [EVE] and 'name="robots" content="noindex"' in both


def test_a_bad_catalogue_filter_is_a_clear_400_page_not_a_500(client, profiles):
    page = client.get(f"/catalogue?tag={'x' * 101}&page=abc", headers={"Accept-Language": "ru"})
    assert page.status_code == 400
    assert "Это не хэштег" in page.get_data(as_text=True)
    assert client.get("/catalogue?page=99999").status_code == 200


def test_catalogue_pages_link_each_other(db, redis_client, settings, profiles):
    from api.app import create_app

    client = create_app(settings.replace(PROFILES_PAGE_SIZE=2)).test_client()
    first = client.get("/catalogue?tag=travel").get_data(as_text=True)
    assert catalogue_wallets(first) == [EVE, ANN]
    page1 = client.get("/catalogue").get_data(as_text=True)
    assert catalogue_wallets(page1) == [EVE, DAN] and 'rel="next" href="/catalogue?page=2"' in page1
    page2 = client.get("/catalogue?page=2").get_data(as_text=True)
    assert catalogue_wallets(page2) == [ANN] and 'rel="prev" href="/catalogue"' in page2


def test_the_service_search_matches_a_part_of_the_name(db, profiles):
    assert [p["wallet"] for p in list_profiles(db, name="ЁЛК")["items"]] == [ANN]
    assert list_profiles(db, name="   ")["total"] == 3


def test_a_profile_page_carries_open_graph_and_twitter_tags_with_stable_links(client, profiles, settings):
    page = client.get(f"/p/{ANN.lower()}", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    tags = meta(html)
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    assert page.status_code == 200
    assert tags["og:title"] == "Анна Ёлкина" and tags["twitter:title"] == "Анна Ёлкина"
    assert tags["og:url"] == f"{base}/p/{ANN}"
    assert f'<link rel="canonical" href="{base}/p/{ANN}">' in html
    assert tags["og:image"] == f"{base}/p/{ANN}/poster.jpg"  # the poster first, stable (not presigned)
    assert tags["og:video"] == f"{base}/p/{ANN}/video.webm"
    assert (tags["og:video:type"], tags["og:video:width"], tags["og:video:height"]) == ("video/webm", "320", "240")
    assert tags["twitter:card"] == "summary_large_image" and tags["twitter:image"] == tags["og:image"]
    assert "token=" not in "".join(tags.values())
    assert "robots" not in tags
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in page.headers["Vary"].split(",")}
    # The tag on the profile leads to the catalogue filtered by it.
    assert 'href="/catalogue?tag=Travel" rel="tag">#Travel<' in html


def test_a_profile_without_a_poster_shows_its_avatar_in_previews(client, profiles, settings):
    tags = meta(client.get(f"/p/{DAN}").get_data(as_text=True))
    assert tags["og:image"] == f"{settings.PUBLIC_BASE_URL.rstrip('/')}/p/{DAN}/avatar.jpg"
    assert "og:video" not in tags


def test_an_incognito_profile_shows_no_name_and_carries_noindex(client, profiles):
    html = client.get(f"/p/{BOB}").get_data(as_text=True)
    tags = meta(html)
    assert "Bob Secret" not in html
    assert tags["robots"] == "noindex" and tags["og:title"] == "Incognito profile"


def test_stable_media_links_redirect_to_fresh_presigned_links(client, profiles):
    answer = client.get(f"/p/{ANN}/poster.jpg")
    assert answer.status_code == 302
    assert "profiles/s1/poster.jpg" in answer.headers["Location"] and "token=" in answer.headers["Location"]
    assert answer.cache_control.max_age == 300
    assert "video.webm" in client.get(f"/p/{ANN}/video.webm").headers["Location"]
    assert client.get(f"/p/{DAN}/poster.jpg").status_code == 404  # no video
    assert client.get("/p/0x0000000000000000000000000000000000000001/poster.jpg").status_code == 404
    assert client.get("/p/not-a-wallet/poster.jpg").status_code == 404


def test_an_unknown_profile_is_a_404_page_in_words(client):
    page = client.get("/p/0x0000000000000000000000000000000000000001", headers={"Accept-Language": "ru"})
    assert page.status_code == 404 and "Здесь пока нет профиля" in page.get_data(as_text=True)
    bad = client.get("/p/nope")
    assert bad.status_code == 404 and "0x followed by 40 hexadecimal digits" in bad.get_data(as_text=True)


def test_the_sitemap_lists_public_profiles_only(client, profiles, settings):
    answer = client.get("/sitemap.xml")
    assert answer.status_code == 200 and answer.mimetype == "application/xml"
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [node.text for node in ElementTree.fromstring(answer.data).findall("s:url/s:loc", ns)]
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    assert locs == [f"{base}/", f"{base}/catalogue", f"{base}/p/{EVE}", f"{base}/p/{DAN}", f"{base}/p/{ANN}"]


def test_robots_allows_the_pages_and_names_the_sitemap(client, settings):
    body = client.get("/robots.txt").get_data(as_text=True)
    assert "Disallow: /api/" in body and "Disallow: /ops" in body
    assert f"Sitemap: {settings.PUBLIC_BASE_URL.rstrip('/')}/sitemap.xml" in body
