"""Confusables: TR39 skeletons (ICU) as a matching key, canonical tag keys, mixed scripts to review."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shared.db import utcnow
from shared.moderation import check, moderators, queue
from shared.moderation.lexicon import get_matcher
from shared.moderation.models import Hashtag
from shared.moderation.normalize import canonicalize, normalize_tag


@pytest.mark.parametrize("tag", [
    "fυck",        # Greek upsilon
    "fᴜck",        # Latin small capital U
    "shɪt",        # Latin small capital I
    "ꮪhit",        # Cherokee small letter S
    "ᏚᎻᎥᎢ",        # Cherokee only
    "fսck",        # Armenian seh
    "ѕhit",        # Cyrillic dze
    "bιtch",       # Greek iota
])
def test_confusables_of_other_scripts_are_rejected(seed_matcher, tag):
    assert seed_matcher.check(tag).verdict == "rejected", tag


def test_confusables_a_tag_with_look_alike_letters_is_stored_under_the_plain_key():
    assert normalize_tag("#trаvel") == normalize_tag("travel") == "travel"       # Cyrillic а
    assert normalize_tag("pаypal") == "paypal"
    assert normalize_tag("xyй") == "хуй"                                          # Latin x, y in a Russian word
    assert normalize_tag("ᴛʀᴀᴠᴇʟ") != "ᴛʀᴀᴠᴇʟ"                                     # small caps fold too


def test_confusables_words_of_other_scripts_keep_their_letters():
    assert normalize_tag("FuckПутин") == "fuckпутин"
    assert normalize_tag("привет") == "привет"
    assert normalize_tag("αγαπη") == "αγαπη"
    assert canonicalize("i_love_москва") == ("i_love_москва", False)


def test_confusables_mixed_script_tags_go_to_review(seed_matcher):
    result = seed_matcher.check("trаvel")
    assert (result.verdict, result.normalized, result.top.term.category) == ("needs_review", "travel", "confusable")
    assert "several scripts" in result.reason
    assert seed_matcher.check("travel").verdict == "approved"
    # Separate words of two scripts and TR39's Latin + CJK combinations are not spoofs.
    for tag in ("i_love_москва", "東京tokyo", "привет"):
        assert seed_matcher.check(tag).verdict == "approved", tag


def test_confusables_one_stored_row_for_a_tag_and_its_look_alike_spelling(db):
    matcher = get_matcher(db)
    with db.session() as session:
        first, second = check.upsert_hashtags(session, ["travel", "trаvel"], matcher)
        assert first.id == second.id
        assert session.scalar(select(func.count()).select_from(Hashtag)) == 1
    assert check.hashtag_status(db, "#trаvel")["normalized"] == "travel"


def test_canonical_stored_tag_a_look_alike_spelling_first_does_not_hide_the_plain_tag(db):
    """``#trаvel`` (Cyrillic а) saved first: the stored ``travel`` is approved and shown as ``travel``."""
    from shared.profiles.service import public_profile, save_profile

    spoofer, plain = "0x" + "1" * 40, "0x" + "2" * 40
    with db.session() as session:
        save_profile(session, get_matcher(db), spoofer, hashtags="#trаvel", published_at=utcnow())
    with db.session() as session:
        save_profile(session, get_matcher(db), plain, hashtags="#travel", published_at=utcnow())
    with db.session() as session:
        row = session.scalars(select(Hashtag)).one()
        assert (row.normalized, row.display, row.status) == ("travel", "travel", "approved")
    assert public_profile(db, plain)["hashtags"] == ["travel"]
    # The look-alike spelling is never shown as typed: the profile shows the plain spelling.
    assert public_profile(db, spoofer)["hashtags"] == ["travel"]


def test_canonical_stored_tag_the_form_check_sends_a_look_alike_spelling_to_review(db):
    verdict = check.check_hashtags(["#trаvel"], db)[0]
    assert (verdict.verdict, verdict.normalized) == ("needs_review", "travel")
    assert "shown as “#travel”" in verdict.reason
    # Even once a moderator approved the plain tag, the look-alike spelling is flagged in the form.
    with db.session() as session:
        save_profile_row = check.upsert_hashtags(session, ["travel"], get_matcher(db))[0]
        hashtag_id = save_profile_row.id
    moderator, _ = moderators.issue_moderator(db, "m", None)
    queue.decide(db, hashtag_id, moderator, "approve", None)
    assert [v.verdict for v in check.check_hashtags(["travel", "trаvel"], db)] == ["approved", "needs_review"]


def test_canonical_stored_tag_a_key_that_still_mixes_scripts_needs_a_moderator(db):
    """No look-alike to fold to (Greek λ has none in Latin): the stored row itself waits for review."""
    with db.session() as session:
        row = check.upsert_hashtags(session, ["traλvel"], get_matcher(db))[0]
        assert row.status == "needs_review" and row.display == "traλvel"
