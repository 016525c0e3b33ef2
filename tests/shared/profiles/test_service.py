"""Profiles against the real database: what moderators see of the profiles using a hashtag."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from shared.db import utcnow
from shared.moderation.lexicon import get_matcher
from shared.moderation.models import Hashtag
from shared.profiles.service import profiles_using_hashtags, save_profile

ANN, BOB = "0x" + "a" * 40, "0x" + "b" * 40


def test_the_profiles_using_each_hashtag_are_listed_oldest_first_incognito_and_unpublished_too(db):
    matcher = get_matcher(db)
    with db.session() as session:
        save_profile(session, matcher, ANN, name="Ann", hashtags="#travel #music", published_at=utcnow())
    with db.session() as session:
        save_profile(session, matcher, BOB, name="Bob", hashtags="#travel", is_incognito=True)

    with db.session() as session:
        ids = {row.normalized: row.id for row in session.scalars(select(Hashtag))}
        found = profiles_using_hashtags(session, [ids["travel"], ids["music"]])

    assert [(p["name"], p["is_incognito"], p["published_at"] is None) for p in found[ids["travel"]]] == [
        ("Ann", False, False), ("Bob", True, True)]
    assert [p["wallet"].lower() for p in found[ids["music"]]] == [ANN]
    assert found[ids["music"]][0]["published_at"] > utcnow() - timedelta(minutes=1)


def test_no_hashtag_ids_find_no_profiles(db):
    with db.session() as session:
        assert profiles_using_hashtags(session, []) == {}
