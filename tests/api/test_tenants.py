"""Ops manage tenants: create (key shown once), keys for rotation, revocation, storage checked, limits."""

from __future__ import annotations

import io

import pytest

from api.app import create_app
from shared.tenants.service import hash_key
from tests.support.media import png_bytes

OPS_TOKEN = "ops-secret-token-0123456789abcdef"
OPS = {"Authorization": f"Bearer {OPS_TOKEN}"}


@pytest.fixture()
def ops_client(db, redis_client, settings):
    return create_app(settings.replace(OPS_TOKEN=OPS_TOKEN)).test_client()


@pytest.fixture()
def production_client(db, redis_client, settings):
    return create_app(settings.replace(APP_ENV="production")).test_client()


def _create(ops_client, name="acme", **body):
    response = ops_client.post("/api/tenants/", json={"name": name, **body}, headers=OPS)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_tenants_api_needs_the_ops_token(ops_client, client):
    assert ops_client.get("/api/tenants/").get_json()["code"] == "ops_token_required"
    wrong = ops_client.get("/api/tenants/", headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.get_json()["code"]) == (403, "invalid_ops_token")
    off = client.get("/api/tenants/", headers=OPS)  # OPS_TOKEN unset: the ops API is off
    assert (off.status_code, off.get_json()["code"]) == (403, "ops_token_not_configured")
    assert ops_client.get("/api/tenants/", headers=OPS).status_code == 200


def test_a_new_tenant_gets_a_key_shown_once_and_stored_hashed(ops_client, production_client, db):
    created = _create(ops_client, limits={"requests_per_minute": 30})

    key = created["api_key"]
    assert key.startswith("sr_") and created["webhook_secrets"][0]["secret"].startswith("whsec_")
    assert created["effective_limits"] == {"requests_per_minute": 30, "video_concurrency": 2}
    assert "api_key" not in ops_client.get(f"/api/tenants/{created['id']}/", headers=OPS).get_json()
    with db.session() as session:
        from sqlalchemy import text

        stored = session.execute(text("SELECT key_hash FROM api_keys")).scalars().all()
    assert stored == [hash_key(key)] and key not in stored
    upload = production_client.post("/api/media/", data={"file": (io.BytesIO(png_bytes()), "a.png")},
                                    headers={"Authorization": f"Bearer {key}"})
    assert upload.status_code == 201


def test_keys_rotate_two_at_once_and_a_revoked_key_stops_at_once(ops_client, production_client):
    tenant = _create(ops_client)
    old = tenant["api_key"]
    new = ops_client.post(f"/api/tenants/{tenant['id']}/keys/", headers=OPS).get_json()
    presets = lambda key: production_client.get("/api/presets/", headers={"Authorization": f"Bearer {key}"})

    assert presets(old).status_code == presets(new["key"]).status_code == 200
    old_id = next(k["id"] for k in ops_client.get(f"/api/tenants/{tenant['id']}/keys/", headers=OPS).get_json()
                  if k["id"] != new["id"])
    revoked = ops_client.delete(f"/api/tenants/{tenant['id']}/keys/{old_id}/", headers=OPS)

    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    job = production_client.get("/api/media/00000000-0000-4000-8000-000000000009/",
                                headers={"Authorization": f"Bearer {old}"})
    assert (job.status_code, job.get_json()["code"]) == (401, "invalid_api_key")
    assert presets(new["key"]).status_code == 200


def test_a_storage_connection_is_checked_with_a_test_write_before_it_is_saved(ops_client, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    bad = ops_client.post("/api/tenants/", json={"name": "acme", "storage": {
        "provider": "local", "root": str(not_a_folder)}}, headers=OPS)
    unknown = ops_client.post("/api/tenants/", json={"name": "acme", "storage": {"provider": "floppy"}}, headers=OPS)
    typo = ops_client.post("/api/tenants/", json={"name": "acme", "storage": {"provider": "s3", "bukket": "x"}},
                           headers=OPS)
    unreachable = ops_client.post("/api/tenants/", json={"name": "acme", "storage": {
        "provider": "s3", "endpoint": "127.0.0.1:9", "bucket": "acme", "access_key": "a", "secret_key": "s"}},
        headers=OPS)

    assert (bad.status_code, bad.get_json()["code"]) == (422, "storage_check_failed")
    assert (unknown.status_code, unknown.get_json()["code"]) == (400, "invalid_storage_config")
    assert typo.get_json()["code"] == "invalid_storage_config"
    assert (unreachable.status_code, unreachable.get_json()["code"]) == (422, "storage_check_failed")
    assert ops_client.get("/api/tenants/", headers=OPS).get_json()[0]["name"] == "default"  # nothing saved

    good = _create(ops_client, storage={"provider": "local", "root": str(tmp_path / "acme"), "prefix": "media-out"})
    assert good["storage"] == {"provider": "local", "root": str(tmp_path / "acme"), "prefix": "media-out/"}
    assert not any((tmp_path / "acme").rglob("*.txt"))  # the test file is gone again


def test_secrets_of_a_storage_connection_are_never_shown(ops_client, tmp_path, monkeypatch):
    import shared.tenants.storage as storage_module

    monkeypatch.setattr(storage_module, "check_storage_config",
                        lambda settings, tenant_id, config: storage_module.normalized_config(settings, tenant_id, config))
    tenant = _create(ops_client, storage={"provider": "yandex_disk", "token": "y0_secret", "root": "app:/acme"})

    assert tenant["storage"]["token"] == "***"
    assert "y0_secret" not in ops_client.get("/api/tenants/", headers=OPS).get_data(as_text=True)


def test_limits_and_storage_change_and_bad_values_are_refused(ops_client):
    tenant = _create(ops_client)
    changed = ops_client.patch(f"/api/tenants/{tenant['id']}/", json={"limits": {"video_concurrency": 1}},
                               headers=OPS)
    bad = ops_client.patch(f"/api/tenants/{tenant['id']}/", json={"limits": {"video_concurrency": 0}}, headers=OPS)
    unknown = ops_client.patch(f"/api/tenants/{tenant['id']}/", json={"limits": {"gpu": 1}}, headers=OPS)

    assert changed.get_json()["effective_limits"] == {"requests_per_minute": 600, "video_concurrency": 1}
    assert (bad.status_code, bad.get_json()["code"]) == (400, "invalid_limits")
    assert unknown.get_json()["code"] == "invalid_limits"


def test_names_are_unique_and_well_formed_and_unknown_tenants_are_not_found(ops_client):
    _create(ops_client)
    assert ops_client.post("/api/tenants/", json={"name": "acme"}, headers=OPS).get_json()["code"] == "tenant_exists"
    assert ops_client.post("/api/tenants/", json={"name": "Acme Inc"}, headers=OPS).get_json()["code"] == \
        "invalid_tenant_name"
    missing = ops_client.get("/api/tenants/00000000-0000-4000-8000-0000000000ff/", headers=OPS)
    assert (missing.status_code, missing.get_json()["code"]) == (404, "tenant_not_found")


def test_webhook_secrets_rotate_and_a_tenant_without_jobs_can_be_deleted(ops_client):
    tenant = _create(ops_client)
    added = ops_client.post(f"/api/tenants/{tenant['id']}/webhook-secrets/", json={}, headers=OPS).get_json()
    bad = ops_client.post(f"/api/tenants/{tenant['id']}/webhook-secrets/", json={"secret": "plain"}, headers=OPS)
    secrets = ops_client.get(f"/api/tenants/{tenant['id']}/", headers=OPS).get_json()["webhook_secrets"]
    removed = ops_client.delete(f"/api/tenants/{tenant['id']}/webhook-secrets/{secrets[0]['id']}/", headers=OPS)

    assert len(secrets) == 2 and secrets[1]["id"] == added["id"]
    assert bad.get_json()["code"] == "invalid_webhook_secret"
    assert removed.status_code == 204
    assert [s["id"] for s in ops_client.get(f"/api/tenants/{tenant['id']}/", headers=OPS)
            .get_json()["webhook_secrets"]] == [added["id"]]
    assert ops_client.delete(f"/api/tenants/{tenant['id']}/", headers=OPS).status_code == 204
    default = ops_client.get("/api/tenants/", headers=OPS).get_json()[0]
    assert ops_client.delete(f"/api/tenants/{default['id']}/", headers=OPS).get_json()["code"] == "tenant_in_use"


def test_the_cli_creates_tenants_issues_and_revokes_keys(app, production_client):
    runner = app.test_cli_runner()

    created = runner.invoke(args=["tenants", "create", "cli-co", "--limits", '{"requests_per_minute": 50}'])
    key = created.output.split("(shown once): ")[1].split()[0]
    issued = runner.invoke(args=["tenants", "issue-key", "cli-co"])
    key_id = issued.output.split()[2]
    listed = runner.invoke(args=["tenants", "list"])
    revoked = runner.invoke(args=["tenants", "revoke-key", "cli-co", key_id])
    duplicate = runner.invoke(args=["tenants", "create", "cli-co"])

    assert created.exit_code == 0 and "whsec_" in created.output
    assert "cli-co" in listed.output and "active_keys=2" in listed.output
    assert revoked.exit_code == 0
    assert duplicate.exit_code != 0 and "tenant_exists" in duplicate.output
    assert production_client.get("/api/presets/", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert '"limits": {\n    "requests_per_minute": 50' in runner.invoke(args=["tenants", "show", "cli-co"]).output


def test_signing_secrets_are_shown_only_on_create_and_rotate(ops_client):
    tenant = _create(ops_client)
    first = tenant["webhook_secrets"][0]["secret"]
    rotated = ops_client.post(f"/api/tenants/{tenant['id']}/webhook-secrets/", json={}, headers=OPS).get_json()

    item = ops_client.get(f"/api/tenants/{tenant['id']}/", headers=OPS)
    listing = ops_client.get("/api/tenants/", headers=OPS)
    shown = ops_client.application.test_cli_runner().invoke(args=["tenants", "show", "acme"])

    assert first.startswith("whsec_") and rotated["secret"].startswith("whsec_")
    assert shown.exit_code == 0 and tenant["id"] in shown.output
    for read in (item.get_data(as_text=True), listing.get_data(as_text=True), shown.output):
        assert first not in read and rotated["secret"] not in read
    assert [set(entry) for entry in item.get_json()["webhook_secrets"]] == [{"id", "created_at"}] * 2
