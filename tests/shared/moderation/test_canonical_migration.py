"""Migration 0011_hashtag_canonical on PostgreSQL: old rows re-keyed with the canonical key, duplicates merged."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from sqlalchemy import text

from shared.db import Database
from shared.db.migrate import upgrade
from tests.conftest import PG_ADMIN_URL, TEST_DATABASE
from tests.support.db import create_database, drop_database

TRAVEL_CYR = "trаvel"   # Cyrillic а: the key it got before the canonical key


@pytest.fixture
def old_database():
    """A PostgreSQL database at the revision before the canonical key."""
    name = f"{TEST_DATABASE}_m11_{os.getpid()}"
    create_database(PG_ADMIN_URL, name)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url, "0007_submissions")
    yield url
    drop_database(PG_ADMIN_URL, name)


def _insert_old_rows(url: str) -> dict[str, uuid.UUID]:
    profiles = {name: uuid.uuid4() for name in ("spoofer", "both", "plain")}
    confusable = json.dumps([{"term": "travel", "category": "confusable", "severity": "medium",
                              "view": "confusable"}])
    database = Database(url)
    with database.engine.begin() as c:
        def tag(row_id, key, display, status, reasons, created):
            c.execute(text("INSERT INTO hashtags (id, normalized, display, status, reasons, reason, lexicon_version, "
                           "created_at, updated_at) VALUES (:id, :key, :display, :status, CAST(:reasons AS jsonb), "
                           ":reason, 1, :created, :created)"),
                      {"id": row_id, "key": key, "display": display, "status": status, "reasons": reasons,
                       "reason": None if status == "approved" else "look-alike", "created": created})

        # The look-alike spelling came first (oldest row), and hid the plain word as needs_review.
        tag(1, TRAVEL_CYR, "Trаvel", "needs_review", confusable, "2025-01-01 00:00:00+00")
        tag(2, "travel", "travel", "approved", "[]", "2025-02-01 00:00:00+00")
        tag(3, "sunset", "sunset", "approved", "[]", "2025-03-01 00:00:00+00")
        # Stored by round 1 (already the canonical key) with the look-alike display and verdict.
        tag(4, "music", "musіc", "needs_review",
            confusable.replace("travel", "music"), "2025-03-02 00:00:00+00")
        for position, (name, profile_id) in enumerate(profiles.items()):
            user_id = uuid.uuid4()
            c.execute(text("INSERT INTO users (id, wallet, created_at) VALUES (:id, :wallet, now())"),
                      {"id": user_id, "wallet": "0x" + str(position) * 40})
            c.execute(text("INSERT INTO profiles (id, user_id, is_incognito, created_at, updated_at) "
                           "VALUES (:id, :user, false, now(), now())"), {"id": profile_id, "user": user_id})
        for profile, hashtag_id, position in (("spoofer", 1, 0), ("both", 3, 0), ("both", 2, 1), ("both", 1, 2),
                                              ("plain", 2, 0), ("plain", 4, 1)):
            c.execute(text("INSERT INTO profile_hashtags (profile_id, hashtag_id, position) VALUES (:p, :h, :pos)"),
                      {"p": profiles[profile], "h": hashtag_id, "pos": position})
        c.execute(text("INSERT INTO moderation_appeals (id, hashtag_id, message, status, created_at) "
                       "VALUES (:id, 1, 'it is travel', 'open', now())"), {"id": uuid.uuid4()})
        for hashtag_id in (1, 2):
            c.execute(text("INSERT INTO moderation_actions (action, hashtag_id, target, details, created_at) "
                           "VALUES ('flagged', :id, 'x', '{}', now())"), {"id": hashtag_id})
    database.dispose()
    return profiles


def test_canonical_stored_tag_the_migration_rekeys_and_merges_old_rows(old_database):
    profiles = _insert_old_rows(old_database)
    upgrade(old_database)
    database = Database(old_database)
    with database.engine.connect() as c:
        rows = c.execute(text("SELECT id, normalized, display, status, reasons, lexicon_version FROM hashtags "
                              "ORDER BY id")).all()
        links = c.execute(text("SELECT profile_id, hashtag_id, position FROM profile_hashtags")).all()
        appeals = c.execute(text("SELECT hashtag_id FROM moderation_appeals")).scalars().all()
        actions = c.execute(text("SELECT action, hashtag_id, details FROM moderation_actions ORDER BY id")).all()
    database.dispose()
    # The oldest row is kept, under the canonical key, with the plain row's verdict and display.
    assert [tuple(row[:4]) for row in rows] == [(1, "travel", "travel", "approved"), (3, "sunset", "sunset", "approved"),
                                                (4, "music", "music", "approved")]
    assert rows[2].reasons == [] and rows[2].lexicon_version == 0     # re-checked by the next recheck
    # Profile links moved (one link per profile, at its first position), the appeal and the history too.
    assert sorted((p, h, pos) for p, h, pos in links) == sorted([
        (profiles["spoofer"], 1, 0), (profiles["both"], 3, 0), (profiles["both"], 1, 1),
        (profiles["plain"], 1, 0), (profiles["plain"], 4, 1)])
    assert appeals == [1]
    assert [(a, h) for a, h, _ in actions] == [("flagged", 1), ("flagged", 1), ("rekeyed", 1), ("rekeyed", 4)]
    assert actions[2].details["old_keys"] == [TRAVEL_CYR, "travel"] and actions[2].details["merged_ids"] == [2]
