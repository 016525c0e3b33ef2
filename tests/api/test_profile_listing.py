"""GET /api/profiles/: published, not incognito, by approved hashtag, page by page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.db import utcnow
from shared.moderation.lexicon import get_matcher
from shared.profiles.service import save_profile

ANN = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
BOB = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
CAT = "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"
DAN = "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"
EVE = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"


@pytest.fixture()
def profiles(db):
    now, matcher = utcnow(), get_matcher(db)
    with db.session() as session:
        save_profile(session, matcher, ANN, name="Ann", url="https://ann.example", hashtags="#Travel #climbing",
                     published_at=now - timedelta(minutes=3))
        save_profile(session, matcher, BOB, name="Bob", hashtags="#travel", is_incognito=True,
                     published_at=now - timedelta(minutes=2))
        save_profile(session, matcher, CAT, name="Cat", hashtags="#travel")  # not published yet
        save_profile(session, matcher, DAN, name="Dan", hashtags="#sexy #music",
                     published_at=now - timedelta(minutes=1))
        save_profile(session, matcher, EVE, name="Eve", hashtags="#travel", published_at=now)


def wallets(body):
    return [item["wallet"] for item in body["items"]]


def test_the_listing_shows_published_profiles_newest_first_and_never_incognito_ones(client, profiles):
    body = client.get("/api/profiles/").get_json()
    assert wallets(body) == [EVE, DAN, ANN]
    assert body["total"] == 3 and body["page"] == 1 and body["next_page"] is None
    ann = body["items"][2]
    assert ann["name"] == "Ann" and ann["url"] == "https://ann.example"
    assert ann["hashtags"] == ["Travel", "climbing"]


def test_a_hashtag_in_any_spelling_finds_the_profiles_carrying_it_approved(client, profiles):
    for query in ("travel", "%23Travel", "TRAVEL", "%23%23travel"):
        assert wallets(client.get(f"/api/profiles/?hashtag={query}").get_json()) == [EVE, ANN], query
    # Tags waiting for a moderator do not list a profile, approved ones of the same profile do.
    assert wallets(client.get("/api/profiles/?hashtag=sexy").get_json()) == []
    assert wallets(client.get("/api/profiles/?hashtag=music").get_json()) == [DAN]
    assert client.get("/api/profiles/?hashtag=unused").get_json() == {
        "items": [], "page": 1, "page_size": 20, "total": 0, "next_page": None}


def test_pages_hold_the_configured_number_of_profiles(db, redis_client, settings, profiles):
    from api.app import create_app

    client = create_app(settings.replace(PROFILES_PAGE_SIZE=2)).test_client()
    first = client.get("/api/profiles/").get_json()
    assert wallets(first) == [EVE, DAN] and first["next_page"] == 2 and first["total"] == 3
    second = client.get("/api/profiles/?page=2").get_json()
    assert wallets(second) == [ANN] and second["next_page"] is None
    assert client.get("/api/profiles/?page=3").get_json()["items"] == []


@pytest.mark.parametrize("query, status, code", [("page=0", 422, "validation_error"),
                                                 ("page=two", 422, "validation_error"),
                                                 ("hashtag=%23", 400, "invalid_hashtag"),
                                                 ("hashtag=" + "a" * 101, 400, "invalid_hashtag")])
def test_bad_listing_queries_are_problems(client, db, query, status, code):
    response = client.get(f"/api/profiles/?{query}")
    assert response.status_code == status and response.get_json()["code"] == code


def test_a_hashtag_filter_the_database_cannot_store_is_a_4xx_not_a_500(client, db):
    # A NUL is refused at the edge for every text parameter (api/schemas.py), naming the field.
    for query in ("%00", "a%00b"):
        response = client.get(f"/api/profiles/?hashtag={query}")
        body = response.get_json()
        assert response.status_code == 422 and body["code"] == "validation_error"
        assert "hashtag" in str(body["errors"])
