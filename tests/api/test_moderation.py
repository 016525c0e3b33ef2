"""Moderator workflow over HTTP: queue, decisions, profiles, audit, appeals, token checks."""

from __future__ import annotations

import re
import uuid

import pytest

from shared.moderation import service
from shared.profiles.service import save_profile
from shared.db import utcnow

WALLET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
MOD_TOKEN = "bootstrap-moderator-token"


@pytest.fixture()
def mod_app(db, redis_client, settings):
    from api.app import create_app

    app = create_app(settings.replace(MODERATOR_TOKEN=MOD_TOKEN))
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def mod_client(mod_app):
    return mod_app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def publish(db, wallet=WALLET, tags="#travel #sexy #nude", **fields):
    with db.session() as session:
        save_profile(session, db, wallet, hashtags=tags, published_at=utcnow(), name="Ann", url="https://ann.example",
                     **fields)


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
    revoked, token = service.issue_moderator(db, "gone", None)
    service.revoke_moderator(db, revoked.id, revoked)
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
    appeal = mod_client.post("/api/hashtags/appeals/", json={"tag": "#nude", "message": "it is my art series",
                                                              "wallet": WALLET})
    assert appeal.status_code == 201
    appeal_id = appeal.get_json()["id"]
    assert mod_client.post("/api/hashtags/appeals/", json={"tag": "nude", "message": "again"}).status_code == 200

    own = mod_client.post(f"/api/moderation/appeals/{appeal_id}/decision/", headers=bearer(MOD_TOKEN),
                          json={"decision": "overturn"})
    assert own.status_code == 403 and own.get_json()["code"] == "appeal_needs_another_moderator"

    issued = mod_client.post("/api/moderation/moderators/", headers=bearer(MOD_TOKEN), json={"name": "Bea"})
    assert issued.status_code == 201
    bea = issued.get_json()["token"]
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
    response = client.post("/api/hashtags/appeals/", json={"tag": "travel", "message": "why"})
    assert response.status_code == 409 and response.get_json()["code"] == "appeal_not_allowed"
    response = client.post("/api/hashtags/appeals/", json={"tag": "never-seen", "message": "why"})
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
    from tests.support.runtime import pipeline_runtime, wait_for
    from shared.moderation.models import Hashtag
    from sqlalchemy import select

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
    from shared.moderation.models import Moderator
    from sqlalchemy import select

    issued = mod_client.post("/api/moderation/moderators/", headers=bearer(MOD_TOKEN), json={"name": "Cy"}).get_json()
    with db.session() as session:
        hashes = list(session.scalars(select(Moderator.token_hash)))
    assert issued["token"] not in hashes and MOD_TOKEN not in hashes
    assert service.hash_token(issued["token"]) in hashes
    assert mod_client.get("/api/moderation/queue/", headers=bearer(issued["token"])).status_code == 200
    assert mod_client.post("/api/moderation/moderators/", headers=bearer(MOD_TOKEN),
                           json={"name": "Cy"}).status_code == 409
    revoked = mod_client.delete(f"/api/moderation/moderators/{issued['id']}/", headers=bearer(MOD_TOKEN))
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert mod_client.get("/api/moderation/queue/", headers=bearer(issued["token"])).status_code == 401


def test_an_old_bootstrap_token_stops_working_when_moderator_token_changes(db, settings):
    assert service.authenticate(db, settings.replace(MODERATOR_TOKEN="first"), "first").is_bootstrap
    with pytest.raises(service.errors.InvalidModeratorToken):
        service.authenticate(db, settings.replace(MODERATOR_TOKEN="second"), "first")
    with pytest.raises(service.errors.InvalidModeratorToken):
        service.authenticate(db, settings.replace(MODERATOR_TOKEN=""), "first")
    same = service.authenticate(db, settings.replace(MODERATOR_TOKEN="second"), "second")
    assert same.is_bootstrap and same.name == "bootstrap"
