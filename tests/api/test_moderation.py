"""Moderator workflow over HTTP: queue, decisions, profiles, audit, appeals, token checks."""

from __future__ import annotations

import re
import uuid

import pytest

from shared.db import utcnow
from shared.moderation import errors, moderators
from shared.moderation.lexicon import get_matcher
from shared.payments.devchain import ACCOUNTS
from shared.profiles.service import save_profile
from shared.security import hash_token
from tests.support.wallets import sign_in

(WALLET, KEY), (OTHER, OTHER_KEY) = ACCOUNTS[0], ACCOUNTS[1]
MOD_TOKEN = "bootstrap-moderator-token-0123456789abcdef"


@pytest.fixture()
def mod_app(db, redis_client, settings):
    from api.app import create_app

    # Tests here send many wrong tokens on purpose: the guessing limit is tested in test_limits_and_headers.py.
    app = create_app(settings.replace(MODERATOR_TOKEN=MOD_TOKEN, RATE_LIMIT_STAFF_AUTH_FAILURES=10_000))
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def mod_client(mod_app):
    return mod_app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def publish(db, wallet=WALLET, tags="#travel #sexy #nude", **fields):
    with db.session() as session:
        save_profile(session, get_matcher(db), wallet, hashtags=tags, published_at=utcnow(), name="Ann",
                     url="https://ann.example", **fields)


def queue_entry(client, tag, token=MOD_TOKEN):
    body = client.get("/api/moderation/queue/", headers=bearer(token)).get_json()
    return next((item for item in body["items"] if item["tag"] == tag), None)


def moderation_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("moderation."):
            path = re.sub(r"<int:\w+>", "1", rule.rule)
            path = re.sub(r"<uuid:\w+>", str(uuid.uuid4()), path)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, path


def test_every_moderator_endpoint_answers_401_without_a_valid_moderator_token(mod_app, mod_client, db):
    routes = list(moderation_routes(mod_app))
    assert len(routes) >= 18, routes
    admin, _ = moderators.issue_moderator(db, "root", None, admin=True)
    revoked, token = moderators.issue_moderator(db, "gone", None)
    moderators.revoke_moderator(db, revoked.id, admin)
    for method, path in routes:
        for headers, code in (({}, "moderator_token_required"),
                              (bearer("not-a-token"), "invalid_moderator_token"),
                              ({"Authorization": f"Basic {MOD_TOKEN}"}, "moderator_token_required"),
                              (bearer(token), "invalid_moderator_token")):
            response = mod_client.open(path, method=method, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers, response.status_code)
            assert response.mimetype == "application/problem+json"
            assert response.get_json()["code"] == code, (method, path)


def test_without_a_configured_bootstrap_token_an_empty_moderator_token_is_refused(client):
    response = client.get("/api/moderation/queue/", headers=bearer(""))
    assert response.status_code == 401


def test_flagged_tag_waits_in_the_queue_and_shows_on_the_profile_once_approved(mod_client, db):
    publish(db)
    profile = mod_client.get(f"/api/profiles/{WALLET.lower()}/").get_json()
    assert profile["hashtags"] == ["travel"]

    entry = queue_entry(mod_client, "sexy")
    assert entry["status"] == "needs_review"
    assert entry["reasons"][0]["term"] == "sexy"
    assert entry["profiles"][0]["wallet"] == WALLET and entry["profiles"][0]["name"] == "Ann"

    response = mod_client.post(f"/api/moderation/hashtags/{entry['id']}/decision/", headers=bearer(MOD_TOKEN),
                               json={"decision": "approve", "note": "fitness context"})
    assert response.status_code == 200 and response.get_json()["status"] == "approved"
    assert queue_entry(mod_client, "sexy") is None
    assert mod_client.get(f"/api/profiles/{WALLET}/").get_json()["hashtags"] == ["travel", "sexy"]


def test_rejected_tag_stays_hidden_and_the_user_sees_why(mod_client, db):
    publish(db)
    entry = queue_entry(mod_client, "nude")
    response = mod_client.post(f"/api/moderation/hashtags/{entry['id']}/decision/", headers=bearer(MOD_TOKEN),
                               json={"decision": "reject", "note": "no nudity on public profiles"})
    assert response.get_json()["status"] == "rejected"
    assert mod_client.get(f"/api/profiles/{WALLET}/").get_json()["hashtags"] == ["travel"]

    seen = mod_client.get("/api/hashtags/%23nude/").get_json()
    assert seen["status"] == "rejected"
    assert seen["reason"] == "rejected by a moderator: no nudity on public profiles"
    check = mod_client.post("/api/hashtags/check/", json={"hashtags": "#Nude #travel"}).get_json()["hashtags"]
    assert [(v["tag"], v["verdict"]) for v in check] == [("Nude", "rejected"), ("travel", "approved")]
    assert "no nudity" in check[0]["reason"]


def test_every_action_is_in_the_audit_log_with_who_why_and_the_lexicon_version(mod_client, db):
    publish(db)
    sexy, nude = queue_entry(mod_client, "sexy"), queue_entry(mod_client, "nude")
    mod_client.post(f"/api/moderation/hashtags/{sexy['id']}/decision/", headers=bearer(MOD_TOKEN),
                    json={"decision": "approve", "note": "fine"})
    mod_client.post(f"/api/moderation/hashtags/{nude['id']}/decision/", headers=bearer(MOD_TOKEN),
                    json={"decision": "reject", "note": "not here"})
    term = mod_client.post("/api/moderation/terms/", headers=bearer(MOD_TOKEN),
                           json={"term": "Spamword", "severity": "medium", "mode": "word", "note": "spam wave"})
    assert term.status_code == 201 and term.get_json()["term"] == "spamword"

    log = mod_client.get("/api/moderation/audit/", headers=bearer(MOD_TOKEN)).get_json()["items"]
    actions = [(a["action"], a["target"], a["moderator"], a["note"]) for a in log]
    assert ("term_added", "spamword", "bootstrap", "spam wave") in actions
    assert ("reject", "nude", "bootstrap", "not here") in actions
    assert ("approve", "sexy", "bootstrap", "fine") in actions
    assert ("flagged", "sexy", "system", sexy["reason"]) in actions
    assert all(a["lexicon_version"] >= 1 for a in log)
    lexicon = mod_client.get("/api/moderation/lexicon/", headers=bearer(MOD_TOKEN)).get_json()
    assert lexicon["version"] == 2 and next(a for a in log if a["action"] == "term_added")["lexicon_version"] == 2


def test_an_appeal_is_decided_by_another_moderator_than_the_one_who_rejected(mod_client, db):
    publish(db)
    nude = queue_entry(mod_client, "nude")
    mod_client.post(f"/api/moderation/hashtags/{nude['id']}/decision/", headers=bearer(MOD_TOKEN),
                    json={"decision": "reject", "note": "not here"})
    user = bearer(sign_in(mod_client, WALLET, KEY))
    appeal = mod_client.post("/api/hashtags/appeals/", headers=user,
                             json={"tag": "#nude", "message": "it is my art series"})
    assert appeal.status_code == 201 and appeal.get_json()["wallet"] == WALLET
    appeal_id = appeal.get_json()["id"]
    assert mod_client.post("/api/hashtags/appeals/", headers=user,
                           json={"tag": "nude", "message": "again"}).status_code == 200

    own = mod_client.post(f"/api/moderation/appeals/{appeal_id}/decision/", headers=bearer(MOD_TOKEN),
                          json={"decision": "overturn"})
    assert own.status_code == 403 and own.get_json()["code"] == "appeal_needs_another_moderator"

    # Bea was issued from the command line: the bootstrap holder never saw her token.
    _, bea = moderators.issue_moderator(db, "Bea", None)
    listed = mod_client.get("/api/moderation/appeals/", headers=bearer(bea)).get_json()["items"]
    assert [a["id"] for a in listed] == [appeal_id]
    decided = mod_client.post(f"/api/moderation/appeals/{appeal_id}/decision/", headers=bearer(bea),
                              json={"decision": "overturn", "note": "artistic context"})
    assert decided.status_code == 200 and decided.get_json()["status"] == "overturned"
    assert mod_client.get(f"/api/profiles/{WALLET}/").get_json()["hashtags"] == ["travel", "nude"]
    again = mod_client.post(f"/api/moderation/appeals/{appeal_id}/decision/", headers=bearer(bea),
                            json={"decision": "uphold"})
    assert again.status_code == 409 and again.get_json()["code"] == "appeal_already_decided"
    log = mod_client.get("/api/moderation/audit/?action=appeal_overturned", headers=bearer(MOD_TOKEN)).get_json()
    assert [(a["moderator"], a["note"]) for a in log["items"]] == [("Bea", "artistic context")]


def test_only_rejected_tags_can_be_appealed(client, db):
    publish(db, tags="#travel")
    user = bearer(sign_in(client, WALLET, KEY))
    response = client.post("/api/hashtags/appeals/", headers=user, json={"tag": "travel", "message": "why"})
    assert response.status_code == 409 and response.get_json()["code"] == "appeal_not_allowed"
    response = client.post("/api/hashtags/appeals/", headers=user, json={"tag": "never-seen", "message": "why"})
    assert response.status_code == 404 and response.get_json()["code"] == "hashtag_not_found"


def test_terms_and_allowlist_can_be_listed_added_changed_and_removed(mod_client):
    h = bearer(MOD_TOKEN)
    listed = mod_client.get("/api/moderation/terms/?q=fuck&language=en", headers=h).get_json()
    assert "fuck" in [t["term"] for t in listed["items"]]
    created = mod_client.post("/api/moderation/terms/", headers=h, json={"term": "badword", "mode": "word"})
    term_id = created.get_json()["id"]
    assert mod_client.post("/api/moderation/terms/", headers=h, json={"term": "BadWord"}).get_json()["code"] \
        == "term_exists"
    assert mod_client.post("/api/moderation/terms/", headers=h, json={"term": "bad word 2"}).status_code == 422
    changed = mod_client.patch(f"/api/moderation/terms/{term_id}/", headers=h, json={"severity": "low"})
    assert changed.get_json()["severity"] == "low"
    assert mod_client.post("/api/hashtags/check/", json={"hashtags": ["badword"]}).get_json()["hashtags"][0][
        "verdict"] == "needs_review"
    assert mod_client.delete(f"/api/moderation/terms/{term_id}/?note=oops", headers=h).status_code == 204
    assert mod_client.get(f"/api/moderation/terms/{term_id}/", headers=h).status_code == 404
    assert mod_client.post("/api/hashtags/check/", json={"hashtags": ["badword"]}).get_json()["hashtags"][0][
        "verdict"] == "approved"

    assert mod_client.post("/api/hashtags/check/", json={"hashtags": ["shitzu"]}).get_json()["hashtags"][0][
        "verdict"] == "rejected"
    stem = mod_client.post("/api/moderation/allowlist/", headers=h, json={"stem": "shitzu", "note": "dog breed"})
    assert stem.status_code == 201
    assert mod_client.post("/api/hashtags/check/", json={"hashtags": ["shitzu"]}).get_json()["hashtags"][0][
        "verdict"] == "approved"
    stem_id = stem.get_json()["id"]
    assert mod_client.patch(f"/api/moderation/allowlist/{stem_id}/", headers=h,
                            json={"note": "shih tzu"}).get_json()["note"] == "shih tzu"
    assert mod_client.delete(f"/api/moderation/allowlist/{stem_id}/", headers=h).status_code == 204
    assert mod_client.get("/api/moderation/lexicon/", headers=h).get_json()["version"] == 6


def test_a_new_lexicon_version_rechecks_stored_hashtags_in_the_background(mod_client, db, settings):
    from sqlalchemy import select

    from shared.moderation.models import Hashtag
    from tests.support.runtime import pipeline_runtime, wait_for

    publish(db, tags="#travel #zorbing")
    with pipeline_runtime(settings, queues=("light",), worker_threads=1):
        response = mod_client.post("/api/moderation/terms/", headers=bearer(MOD_TOKEN),
                                   json={"term": "zorbing", "severity": "high", "mode": "word"})
        assert response.status_code == 201

        def status():
            with db.session() as session:
                row = session.scalars(select(Hashtag).where(Hashtag.normalized == "zorbing")).one()
                return row.status if row.lexicon_version == 2 else None

        assert wait_for(status, timeout=20, message="re-check") == "rejected"
    assert mod_client.get(f"/api/profiles/{WALLET}/").get_json()["hashtags"] == ["travel"]
    log = mod_client.get("/api/moderation/audit/?action=rechecked", headers=bearer(MOD_TOKEN)).get_json()["items"]
    assert [(a["target"], a["moderator"], a["details"]["to"]) for a in log] == [("zorbing", "system", "rejected")]


def test_moderator_tokens_are_stored_hashed_and_can_be_revoked(mod_client, db):
    from sqlalchemy import select

    from shared.moderation.models import Moderator

    issued = mod_client.post("/api/moderation/moderators/", headers=bearer(MOD_TOKEN), json={"name": "Cy"}).get_json()
    with db.session() as session:
        hashes = list(session.scalars(select(Moderator.token_hash)))
    assert issued["token"] not in hashes and MOD_TOKEN not in hashes
    assert hash_token(issued["token"]) in hashes
    assert mod_client.get("/api/moderation/queue/", headers=bearer(issued["token"])).status_code == 200
    assert mod_client.post("/api/moderation/moderators/", headers=bearer(MOD_TOKEN),
                           json={"name": "Cy"}).status_code == 409
    revoked = mod_client.delete(f"/api/moderation/moderators/{issued['id']}/", headers=bearer(MOD_TOKEN))
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert mod_client.get("/api/moderation/queue/", headers=bearer(issued["token"])).status_code == 401


def test_an_old_bootstrap_token_stops_working_when_moderator_token_changes(db, settings):
    FIRST, SECOND = "first-moderator-token-0123456789ab", "second-moderator-token-0123456789a"
    assert moderators.authenticate(db, settings.replace(MODERATOR_TOKEN=FIRST), FIRST).is_bootstrap
    with pytest.raises(errors.InvalidModeratorToken):
        moderators.authenticate(db, settings.replace(MODERATOR_TOKEN=SECOND), FIRST)
    with pytest.raises(errors.InvalidModeratorToken):
        moderators.authenticate(db, settings.replace(MODERATOR_TOKEN=""), FIRST)
    same = moderators.authenticate(db, settings.replace(MODERATOR_TOKEN=SECOND), SECOND)
    assert same.is_bootstrap and same.name == "bootstrap"


def issue(client, name, token=MOD_TOKEN, **extra):
    response = client.post("/api/moderation/moderators/", headers=bearer(token), json={"name": name, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def reject_and_appeal(client, tag, token, wallet_key=(WALLET, KEY)):
    entry = queue_entry(client, tag)
    decided = client.post(f"/api/moderation/hashtags/{entry['id']}/decision/", headers=bearer(token),
                          json={"decision": "reject", "note": "not here"})
    assert decided.status_code == 200, decided.get_json()
    appeal = client.post("/api/hashtags/appeals/", headers=bearer(sign_in(client, *wallet_key)),
                         json={"tag": tag, "message": "please look again"})
    assert appeal.status_code == 201, appeal.get_json()
    return entry["id"], appeal.get_json()["id"]


def test_moderator_separation_a_plain_moderator_cannot_mint_a_token_to_decide_its_own_appeal(mod_client, db):
    publish(db)
    pat = issue(mod_client, "Pat")
    minted = mod_client.post("/api/moderation/moderators/", headers=bearer(pat["token"]), json={"name": "Pat 2"})
    assert minted.status_code == 403 and minted.get_json()["code"] == "moderator_admin_required"
    assert pat["role"] == "moderator" and len(pat["token"]) >= 32
    _, appeal_id = reject_and_appeal(mod_client, "nude", pat["token"])
    own = mod_client.post(f"/api/moderation/appeals/{appeal_id}/decision/", headers=bearer(pat["token"]),
                          json={"decision": "uphold"})
    assert own.status_code == 403 and own.get_json()["code"] == "appeal_needs_another_moderator"


def test_moderator_separation_revoking_a_moderator_revokes_the_tokens_it_minted(mod_client):
    ada = issue(mod_client, "Ada", admin=True)
    assert ada["role"] == "admin"
    pat = issue(mod_client, "Pat", token=ada["token"])
    quinn = issue(mod_client, "Quinn", token=ada["token"], admin=True)
    kim = issue(mod_client, "Kim", token=quinn["token"])
    by_plain = mod_client.delete(f"/api/moderation/moderators/{kim['id']}/", headers=bearer(pat["token"]))
    assert by_plain.status_code == 403 and by_plain.get_json()["code"] == "moderator_admin_required"

    assert mod_client.delete(f"/api/moderation/moderators/{ada['id']}/", headers=bearer(MOD_TOKEN)).status_code == 200
    for holder in (ada, pat, quinn, kim):
        response = mod_client.get("/api/moderation/queue/", headers=bearer(holder["token"]))
        assert response.status_code == 401, holder["name"]
    listed = {m["name"]: m for m in mod_client.get("/api/moderation/moderators/", headers=bearer(MOD_TOKEN)).json}
    assert all(listed[name]["revoked_at"] for name in ("Ada", "Pat", "Quinn", "Kim"))
    log = mod_client.get("/api/moderation/audit/?action=moderator_revoked", headers=bearer(MOD_TOKEN)).json
    assert sorted(a["target"] for a in log["items"]) == ["Ada", "Kim", "Pat", "Quinn"]


def test_moderator_separation_the_original_decider_cannot_redecide_an_appealed_tag(mod_client, db):
    publish(db)
    pat, quinn = issue(mod_client, "Pat"), issue(mod_client, "Quinn")
    hashtag_id, appeal_id = reject_and_appeal(mod_client, "nude", pat["token"])
    # The bootstrap moderator minted Pat but is the root of trust: it may review Pat's decision.
    overturned = mod_client.post(f"/api/moderation/appeals/{appeal_id}/decision/", headers=bearer(MOD_TOKEN),
                                 json={"decision": "overturn", "note": "art"})
    assert overturned.status_code == 200 and overturned.get_json()["status"] == "overturned"

    again = mod_client.post(f"/api/moderation/hashtags/{hashtag_id}/decision/", headers=bearer(pat["token"]),
                            json={"decision": "reject"})
    assert again.status_code == 403 and again.get_json()["code"] == "decision_needs_another_moderator"
    assert mod_client.get("/api/hashtags/nude/").get_json()["status"] == "approved"
    other = mod_client.post(f"/api/moderation/hashtags/{hashtag_id}/decision/", headers=bearer(quinn["token"]),
                            json={"decision": "reject", "note": "second look"})
    assert other.status_code == 200 and other.get_json()["status"] == "rejected"


def test_every_decision_records_who_minted_the_decider(mod_client, db):
    publish(db)
    pat = issue(mod_client, "Pat")
    bootstrap = moderators.authenticate(db, mod_client.application.config["SETTINGS"], MOD_TOKEN)
    _, appeal_id = reject_and_appeal(mod_client, "nude", pat["token"])
    mod_client.post(f"/api/moderation/appeals/{appeal_id}/decision/", headers=bearer(MOD_TOKEN),
                    json={"decision": "uphold"})
    log = mod_client.get("/api/moderation/audit/", headers=bearer(MOD_TOKEN)).json["items"]
    details = {a["action"]: a["details"] for a in log if a["action"] in ("reject", "appeal_upheld")}
    assert details["reject"]["decider_minted_by"] == str(bootstrap.id)
    assert details["reject"]["decider_is_admin"] is False
    assert details["appeal_upheld"]["decider_minted_by"] is None
    assert details["appeal_upheld"]["decider_is_admin"] is True


def test_anonymous_appeals_take_the_wallet_from_the_session(mod_client, db):
    publish(db)
    entry = queue_entry(mod_client, "nude")
    mod_client.post(f"/api/moderation/hashtags/{entry['id']}/decision/", headers=bearer(MOD_TOKEN),
                    json={"decision": "reject"})
    body = {"tag": "nude", "message": "mine"}
    anonymous = mod_client.post("/api/hashtags/appeals/", json=body)
    assert anonymous.status_code == 401 and anonymous.get_json()["code"] == "wallet_token_required"
    user = bearer(sign_in(mod_client, WALLET, KEY))
    chosen = mod_client.post("/api/hashtags/appeals/", headers=user, json=body | {"wallet": OTHER})
    assert chosen.status_code == 422 and "wallet" in chosen.get_json()["errors"]

    created = mod_client.post("/api/hashtags/appeals/", headers=user, json=body)
    assert created.status_code == 201 and created.get_json()["wallet"] == WALLET
    other = mod_client.post("/api/hashtags/appeals/", headers=bearer(sign_in(mod_client, OTHER, OTHER_KEY)),
                            json={"tag": "nude", "message": "me too"})
    assert other.status_code == 409 and other.get_json()["code"] == "appeal_already_open"
    assert WALLET not in other.get_data(as_text=True) and "mine" not in other.get_data(as_text=True)
    listed = mod_client.get("/api/moderation/appeals/", headers=bearer(MOD_TOKEN)).json["items"]
    assert [(a["wallet"], a["message"]) for a in listed] == [(WALLET, "mine")]
