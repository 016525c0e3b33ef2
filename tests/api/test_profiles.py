"""The public profile read (the profiles issue adds the rest)."""

from __future__ import annotations

from shared.db import utcnow
from shared.moderation.lexicon import get_matcher
from shared.profiles.service import save_profile

WALLET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def test_a_published_profile_is_found_by_its_wallet_in_any_letter_case(client, db):
    with db.session() as session:
        save_profile(session, get_matcher(db), WALLET.lower(), name="Ann", url="https://ann.example",
                     activity_hobbies="climbing", hashtags=["#Climbing", "bullshit", "#sexy"], published_at=utcnow(),
                     video_outputs={"webm": "profiles/x/video.webm"})
    for wallet in (WALLET, WALLET.lower(), "0x" + WALLET[2:].upper()):
        response = client.get(f"/api/profiles/{wallet}/")
        assert response.status_code == 200, wallet
        body = response.get_json()
        assert body["wallet"] == WALLET
    assert body["name"] == "Ann" and body["url"] == "https://ann.example"
    assert body["hashtags"] == ["Climbing"]
    assert body["video"] == {"webm": "profiles/x/video.webm"}


def test_an_incognito_profile_shows_no_name_or_link(client, db):
    with db.session() as session:
        save_profile(session, get_matcher(db), WALLET, name="Ann", url="https://ann.example", is_incognito=True,
                     published_at=utcnow())
    body = client.get(f"/api/profiles/{WALLET}/").get_json()
    assert body["is_incognito"] is True and body["name"] is None and body["url"] is None


def test_unknown_unpublished_and_malformed_wallets_are_problems(client, db):
    with db.session() as session:
        save_profile(session, get_matcher(db), WALLET, name="Draft")
    assert client.get(f"/api/profiles/{WALLET}/").get_json()["code"] == "profile_not_found"
    other = "0x" + "1" * 40
    assert client.get(f"/api/profiles/{other}/").status_code == 404
    response = client.get("/api/profiles/0x123/")
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_wallet"
