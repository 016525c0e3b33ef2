"""Moderation services against the real database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.db import utcnow
from shared.moderation import appeals, audit, check, errors, lists, moderators, queue
from shared.moderation.lexicon import ensure_seeded, get_matcher, read_seed_terms
from shared.moderation.models import LexiconVersion, ModerationAction, ModerationTerm
from shared.profiles.service import save_profile
from shared.security import hash_token


@pytest.mark.parametrize("value, tags", [
    ("#a #b, c;d", ["a", "b", "c", "d"]),
    (["#Travel", "travel", " #food "], ["Travel", "food"]),
    ("", []), (None, []), ("# ##", []),
])
def test_hashtags_are_parsed_from_text_or_a_list_without_duplicates(value, tags):
    assert check.parse_hashtags(value) == tags


def test_the_lexicon_is_seeded_once_from_the_shipped_files(db):
    ensure_seeded(db)
    ensure_seeded(db)
    with db.session() as session:
        assert session.scalar(select(LexiconVersion.version)) == 1
        assert len(list(session.scalars(select(ModerationTerm)))) == len({t.term for t in read_seed_terms()})


def test_the_checker_is_built_once_per_lexicon_version(db):
    assert get_matcher(db) is get_matcher(db)
    moderator, _ = moderators.issue_moderator(db, "m", None)
    lists.create_term(db, moderator, term="zorbing", category="spam", severity="high", mode="word")
    matcher = get_matcher(db)
    assert matcher.version == 2 and matcher.check("zorbing").verdict == "rejected"


def test_check_hashtags_returns_a_verdict_per_tag_and_moderator_decisions_win(db):
    verdicts = check.check_hashtags(["#travel", "bullshit", "sexy"], db)
    assert [(v.tag, v.verdict) for v in verdicts] == [("travel", "approved"), ("bullshit", "rejected"),
                                                      ("sexy", "needs_review")]
    assert verdicts[1].term == "bullshit" and verdicts[1].severity == "high" and verdicts[1].lexicon_version == 1
    assert verdicts[0].reason is None and verdicts[0].term is None

    with db.session() as session:
        save_profile(session, get_matcher(db), "0x" + "a" * 40, hashtags=["sexy"], published_at=utcnow())
    moderator, _ = moderators.issue_moderator(db, "m", None)
    hashtag_id = queue.list_hashtags(db, status="needs_review")[0][0]["id"]
    queue.decide(db, hashtag_id, moderator, "approve", None)
    assert check.check_hashtags(["Sexy"], db)[0].verdict == "approved"


def test_a_submission_with_a_rejected_tag_is_refused_with_the_reason(db):
    with pytest.raises(errors.HashtagRejected) as refused:
        check.ensure_publishable(check.check_hashtags(["travel", "p0rn"], db))
    assert refused.value.extra["errors"]["hashtags"][0].startswith("#p0rn: contains sexual content")
    check.ensure_publishable(check.check_hashtags(["travel", "sexy"], db))


def test_overlong_or_empty_tags_are_invalid_input(db):
    with pytest.raises(errors.InvalidHashtag):
        check.check_hashtags(["x" * 101], db)
    with pytest.raises(errors.InvalidHashtag):
        check.check_hashtags(["#"], db)


def test_decisions_fed_to_the_lexicon_become_a_term_or_an_allowlist_entry(db):
    with db.session() as session:
        save_profile(session, get_matcher(db), "0x" + "b" * 40, hashtags=["flumpf", "sexyboots"],
                     published_at=utcnow())
    moderator, _ = moderators.issue_moderator(db, "m", None)
    rows = {h["tag"]: h for h in queue.list_hashtags(db)[0]}
    assert rows["sexyboots"]["status"] == "needs_review"
    queue.decide(db, rows["flumpf"]["id"], moderator, "reject", "spam", feed_lexicon=True)
    queue.decide(db, rows["sexyboots"]["id"], moderator, "approve", "a shoe brand", feed_lexicon=True)
    matcher = get_matcher(db)
    assert matcher.version == 3
    assert matcher.check("flumpf").verdict == "rejected"
    assert matcher.check("SexyBoots").verdict == "approved"
    actions = [a["action"] for a in audit.list_actions(db)[0]]
    assert actions[:4] == ["allowlist_added", "approve", "term_added", "reject"]


def test_recheck_updates_automatic_verdicts_once_and_leaves_moderator_decisions_alone(db):
    with db.session() as session:
        save_profile(session, get_matcher(db), "0x" + "c" * 40, hashtags=["zorbing", "flumpf", "sexy"],
                     published_at=utcnow())
    moderator, _ = moderators.issue_moderator(db, "m", None)
    sexy_id = queue.list_hashtags(db, status="needs_review")[0][0]["id"]
    queue.decide(db, sexy_id, moderator, "approve", None)
    lists.create_term(db, moderator, term="zorbing", category="spam", severity="high", mode="word")
    assert check.recheck_hashtags(db) == {"checked": 2, "changed": 1}
    assert check.recheck_hashtags(db) == {"checked": 0, "changed": 0}
    statuses = {h["tag"]: h["status"] for h in queue.list_hashtags(db)[0]}
    assert statuses == {"zorbing": "rejected", "flumpf": "approved", "sexy": "approved"}


def test_the_audit_log_refuses_changes(db):
    from shared.moderation.models import AuditLogIsAppendOnly

    moderators.issue_moderator(db, "m", None)
    with pytest.raises(AuditLogIsAppendOnly), db.session() as session:
        row = session.scalars(select(ModerationAction)).first()
        row.note = "rewritten"


def test_a_check_of_more_than_100_hashtags_is_refused(db):
    with pytest.raises(errors.TooManyHashtags):
        check.check_hashtags([f"tag{i}" for i in range(101)], db)


def _two_edits_meet_at_the_checksum(monkeypatch):
    """Hold each of two lexicon edits at the checksum until the other got there too (or a second passed).

    That is between reading the latest version and writing the next one: the window where
    max+1 collided. Returns the real checksum function.
    """
    import threading

    from shared.moderation import lexicon

    barrier, checksum = threading.Barrier(2), lexicon.lexicon_checksum

    def slow_checksum(session):
        try:
            barrier.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass
        return checksum(session)

    monkeypatch.setattr(lexicon, "lexicon_checksum", slow_checksum)
    return checksum


def _run_concurrently(edit, keys) -> dict[str, object]:
    """Run ``edit(key)`` for each key in a thread of its own; what each returned or raised, by key."""
    import threading

    outcomes: dict[str, object] = {}

    def run(key):
        try:
            outcomes[key] = edit(key)
        except Exception as exc:  # noqa: BLE001 - the test reports whatever the edit raised
            outcomes[key] = exc

    threads = [threading.Thread(target=run, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_lexicon_version_race_two_concurrent_edits_both_get_their_own_version(db, monkeypatch):
    ensure_seeded(db)
    moderator, _ = moderators.issue_moderator(db, "m", None)
    checksum = _two_edits_meet_at_the_checksum(monkeypatch)

    outcomes = _run_concurrently(lambda term: lists.create_term(db, moderator, term=term, category="spam",
                                                                severity="high", mode="word"), ("zorbing", "flumpf"))

    assert all(isinstance(v, dict) for v in outcomes.values()), outcomes
    with db.session() as session:
        versions = list(session.scalars(select(LexiconVersion.version).order_by(LexiconVersion.version)))
        latest = session.scalars(select(LexiconVersion).order_by(LexiconVersion.version.desc())).first()
        assert versions == [1, 2, 3]
        # The last version's checksum covers both edits (it was computed after the first committed).
        assert latest.checksum == checksum(session)
    matcher = get_matcher(db)
    assert matcher.check("zorbing").verdict == matcher.check("flumpf").verdict == "rejected"


def test_review_lexicon_version_lock_holds_on_an_empty_table(db, monkeypatch):
    """Before the first version row exists there is no row to lock: the two edits still take turns."""
    from shared.moderation import lexicon

    _two_edits_meet_at_the_checksum(monkeypatch)

    def edit(note):
        with db.session() as session:
            return lexicon.new_version(session, note=note).version

    outcomes = _run_concurrently(edit, ("first", "second"))

    assert sorted(map(str, outcomes.values())) == ["1", "2"], outcomes


def _minted_before_the_fix(db, name: str, minter) -> tuple[object, str]:
    """A token a plain moderator minted when any moderator could (a row as it was written then)."""
    import secrets

    from shared.moderation.models import Moderator

    token = moderators.MODERATOR_TOKENS.prefix + secrets.token_urlsafe(32)
    with db.session() as session:
        row = Moderator(name=name, token_hash=hash_token(token), token_prefix=token[:12],
                        created_by=minter.id, created_at=utcnow())
        session.add(row)
    return row, token


def test_moderator_separation_revocation_reaches_tokens_minted_under_the_revoked_moderator(db, settings):
    bootstrap = moderators.authenticate(db, settings.replace(MODERATOR_TOKEN="b" * 40), "b" * 40)
    pat, _ = moderators.issue_moderator(db, "Pat", None)
    kim, kim_token = _minted_before_the_fix(db, "Kim", pat)
    _, lee_token = _minted_before_the_fix(db, "Lee", kim)
    moderators.revoke_moderator(db, pat.id, bootstrap)
    for token in (kim_token, lee_token):
        with pytest.raises(errors.InvalidModeratorToken):
            moderators.authenticate(db, settings, token)


def test_moderator_separation_tokens_a_plain_moderator_minted_stay_in_its_chain(db):
    with db.session() as session:
        save_profile(session, get_matcher(db), "0x" + "d" * 40, hashtags=["nude"], published_at=utcnow())
    pat, _ = moderators.issue_moderator(db, "Pat", None)
    pat2, _ = _minted_before_the_fix(db, "Pat 2", pat)
    sibling, _ = _minted_before_the_fix(db, "Pat 3", pat)
    outsider, _ = moderators.issue_moderator(db, "Quinn", None)
    hashtag_id = queue.list_hashtags(db)[0][0]["id"]
    queue.decide(db, hashtag_id, pat2, "reject", None)
    appeal, _ = appeals.create_appeal(db, "nude", "art", "0x" + "d" * 40)
    # Pat saw Pat 2's token when minting it, and holds Pat 3's: none of them reviews.
    for reviewer in (pat2, pat, sibling):
        with pytest.raises(errors.AppealNeedsAnotherModerator):
            appeals.decide_appeal(db, appeal["id"], reviewer, "overturn", None)
    assert appeals.decide_appeal(db, appeal["id"], outsider, "overturn", None)["status"] == "overturned"


def test_moderator_separation_the_migration_revokes_what_revoked_moderators_minted_before(tmp_path):
    import uuid

    from sqlalchemy import text

    from shared.db import Database
    from shared.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0007_submissions")
    gone, minted, under, other = (uuid.uuid4() for _ in range(4))
    database = Database(url)
    with database.engine.begin() as connection:
        for name, row_id, minter, revoked in (("gone", gone, None, "2026-01-01 00:00:00"),
                                              ("minted", minted, gone, None), ("under", under, minted, None),
                                              ("other", other, None, None)):
            connection.execute(text("INSERT INTO moderators (id, name, token_hash, token_prefix, is_bootstrap, "
                                    "created_by, created_at, revoked_at) VALUES (:id, :name, :name, 'mod_', 0, "
                                    ":minter, '2025-01-01 00:00:00', :revoked)"),
                               {"id": row_id.hex, "name": name, "minter": minter.hex if minter else None,
                                "revoked": revoked})
    database.dispose()
    upgrade(url)
    database = Database(url)
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT name, created_by IS NOT NULL, revoked_at IS NOT NULL, is_admin "
                                       "FROM moderators ORDER BY name")).all()
    database.dispose()
    # The minting links survive the new column (no table copy that nulls foreign keys).
    assert [tuple(row) for row in rows] == [("gone", 0, 1, 0), ("minted", 1, 1, 0), ("other", 0, 0, 0),
                                            ("under", 1, 1, 0)]
