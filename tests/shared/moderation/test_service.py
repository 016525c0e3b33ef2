"""Moderation services against the real database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.db import utcnow
from shared.moderation import errors, service
from shared.moderation.lexicon import ensure_seeded, get_matcher, read_seed_terms
from shared.moderation.models import LexiconVersion, ModerationAction, ModerationTerm
from shared.profiles.service import save_profile


@pytest.mark.parametrize("value, tags", [
    ("#a #b, c;d", ["a", "b", "c", "d"]),
    (["#Travel", "travel", " #food "], ["Travel", "food"]),
    ("", []), (None, []), ("# ##", []),
])
def test_hashtags_are_parsed_from_text_or_a_list_without_duplicates(value, tags):
    assert service.parse_hashtags(value) == tags


def test_the_lexicon_is_seeded_once_from_the_shipped_files(db):
    ensure_seeded(db)
    ensure_seeded(db)
    with db.session() as session:
        assert session.scalar(select(LexiconVersion.version)) == 1
        assert len(list(session.scalars(select(ModerationTerm)))) == len({t.term for t in read_seed_terms()})


def test_the_checker_is_built_once_per_lexicon_version(db):
    assert get_matcher(db) is get_matcher(db)
    moderator, _ = service.issue_moderator(db, "m", None)
    service.create_term(db, moderator, term="zorbing", category="spam", severity="high", mode="word")
    matcher = get_matcher(db)
    assert matcher.version == 2 and matcher.check("zorbing").verdict == "rejected"


def test_check_hashtags_returns_a_verdict_per_tag_and_moderator_decisions_win(db):
    verdicts = service.check_hashtags(["#travel", "bullshit", "sexy"], db)
    assert [(v.tag, v.verdict) for v in verdicts] == [("travel", "approved"), ("bullshit", "rejected"),
                                                      ("sexy", "needs_review")]
    assert verdicts[1].term == "bullshit" and verdicts[1].severity == "high" and verdicts[1].lexicon_version == 1
    assert verdicts[0].reason is None and verdicts[0].term is None

    with db.session() as session:
        save_profile(session, db, "0x" + "a" * 40, hashtags=["sexy"], published_at=utcnow())
    moderator, _ = service.issue_moderator(db, "m", None)
    hashtag_id = service.list_hashtags(db, status="needs_review")[0][0]["id"]
    service.decide(db, hashtag_id, moderator, "approve", None)
    assert service.check_hashtags(["Sexy"], db)[0].verdict == "approved"


def test_a_submission_with_a_rejected_tag_is_refused_with_the_reason(db):
    with pytest.raises(errors.HashtagRejected) as refused:
        service.ensure_publishable(service.check_hashtags(["travel", "p0rn"], db))
    assert refused.value.extra["errors"]["hashtags"][0].startswith("#p0rn: contains sexual content")
    service.ensure_publishable(service.check_hashtags(["travel", "sexy"], db))


def test_overlong_or_empty_tags_are_invalid_input(db):
    with pytest.raises(errors.InvalidHashtag):
        service.check_hashtags(["x" * 101], db)
    with pytest.raises(errors.InvalidHashtag):
        service.check_hashtags(["#"], db)


def test_decisions_fed_to_the_lexicon_become_a_term_or_an_allowlist_entry(db):
    with db.session() as session:
        save_profile(session, db, "0x" + "b" * 40, hashtags=["flumpf", "sexyboots"], published_at=utcnow())
    moderator, _ = service.issue_moderator(db, "m", None)
    rows = {h["tag"]: h for h in service.list_hashtags(db)[0]}
    assert rows["sexyboots"]["status"] == "needs_review"
    service.decide(db, rows["flumpf"]["id"], moderator, "reject", "spam", feed_lexicon=True)
    service.decide(db, rows["sexyboots"]["id"], moderator, "approve", "a shoe brand", feed_lexicon=True)
    matcher = get_matcher(db)
    assert matcher.version == 3
    assert matcher.check("flumpf").verdict == "rejected"
    assert matcher.check("SexyBoots").verdict == "approved"
    actions = [a["action"] for a in service.list_actions(db)[0]]
    assert actions[:4] == ["allowlist_added", "approve", "term_added", "reject"]


def test_recheck_updates_automatic_verdicts_once_and_leaves_moderator_decisions_alone(db):
    with db.session() as session:
        save_profile(session, db, "0x" + "c" * 40, hashtags=["zorbing", "flumpf", "sexy"], published_at=utcnow())
    moderator, _ = service.issue_moderator(db, "m", None)
    sexy_id = service.list_hashtags(db, status="needs_review")[0][0]["id"]
    service.decide(db, sexy_id, moderator, "approve", None)
    service.create_term(db, moderator, term="zorbing", category="spam", severity="high", mode="word")
    assert service.recheck_hashtags(db) == {"checked": 2, "changed": 1}
    assert service.recheck_hashtags(db) == {"checked": 0, "changed": 0}
    statuses = {h["tag"]: h["status"] for h in service.list_hashtags(db)[0]}
    assert statuses == {"zorbing": "rejected", "flumpf": "approved", "sexy": "approved"}


def test_the_audit_log_refuses_changes(db):
    from shared.moderation.models import AuditLogIsAppendOnly

    moderator, _ = service.issue_moderator(db, "m", None)
    with pytest.raises(AuditLogIsAppendOnly):
        with db.session() as session:
            row = session.scalars(select(ModerationAction)).first()
            row.note = "rewritten"


def test_a_check_of_more_than_100_hashtags_is_refused(db):
    with pytest.raises(errors.TooManyHashtags):
        service.check_hashtags([f"tag{i}" for i in range(101)], db)
