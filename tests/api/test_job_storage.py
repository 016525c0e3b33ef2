"""A job keeps the storage it was written to; the orphan sweep covers every tenant's storage."""

from __future__ import annotations

import io
import os
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from api.app import create_app
from shared.jobs import steps
from shared.ops.tasks import TASKS, build_context
from shared.storage import get_default_storage
from shared.tenants.storage import get_tenant_storages
from tests.support.media import png_bytes

OPS_TOKEN = "ops-secret-token-0123456789abcdef"
OPS = {"Authorization": f"Bearer {OPS_TOKEN}"}
STEPS = ("convert", "upload", "persist")


@pytest.fixture()
def client(db, redis_client, settings):
    return create_app(settings.replace(OPS_TOKEN=OPS_TOKEN)).test_client()


def _tenant(client, name: str, storage: dict | None) -> tuple[str, dict]:
    created = client.post("/api/tenants/", json={"name": name, "storage": storage}, headers=OPS)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    return body["id"], {"Authorization": f"Bearer {body['api_key']}"}


def _submit(client, auth: dict, size: int) -> str:
    response = client.post("/api/media/", data={"file": (io.BytesIO(png_bytes(size, size)), "a.png")}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["job_id"]


def _run(db, settings, job_id: str) -> None:
    ctx = steps.StepContext(db=db, settings=settings, storages=get_tenant_storages(settings))
    for step in STEPS:
        assert steps.run_step(ctx, job_id, step, 1), step


def _downloads(client, auth: dict, job_id: str) -> dict[str, int]:
    job = client.get(f"/api/media/{job_id}/", headers=auth).get_json()
    assert job["status"] == "done", job
    statuses = {}
    for name, url in job["result_urls"].items():
        parts = urlsplit(url)
        statuses[name] = client.get(f"{parts.path}?{parts.query}").status_code
    return statuses


def _files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file() and not path.name.startswith(".")}


def test_a_job_keeps_the_storage_it_started_with_when_the_tenant_changes_storage(client, db, settings, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    tenant_id, auth = _tenant(client, "acme", {"provider": "local", "root": str(first)})
    finished = _submit(client, auth, 40)
    _run(db, settings, finished)
    in_flight = _submit(client, auth, 41)  # queued, not a step run yet

    changed = client.patch(f"/api/tenants/{tenant_id}/", json={"storage": {"provider": "local", "root": str(second)}},
                           headers=OPS)
    assert changed.status_code == 200
    _run(db, settings, in_flight)  # every step after the change: the source is where the job put it
    after = _submit(client, auth, 42)
    _run(db, settings, after)

    # Old links and the in-flight job's outputs: the first storage; the job made after the change: the second.
    assert set(_downloads(client, auth, finished).values()) == {200}
    assert set(_downloads(client, auth, in_flight).values()) == {200}
    assert set(_downloads(client, auth, after).values()) == {200}
    first_files, second_files = _files(first), _files(second)
    assert {path.split("/")[1] for path in first_files} == {finished, in_flight}
    assert {path.split("/")[1] for path in second_files} == {after}


def _old(path: Path) -> None:
    when = time.time() - 48 * 3600
    os.utime(path, (when, when))


def _put_old(storage, key: str) -> str:
    storage.put_bytes(key, b"orphan", "application/octet-stream")
    return key


def test_the_orphan_sweep_covers_every_tenants_storage(client, db, settings, tmp_path):
    own_root = tmp_path / "own"
    own_id, _ = _tenant(client, "acme", {"provider": "local", "root": str(own_root)})
    platform_id, platform_auth = _tenant(client, "globex", None)
    storages = get_tenant_storages(settings)
    orphan = f"media/{uuid.uuid4()}/source.png"

    own = storages(uuid.UUID(own_id))
    _put_old(own, orphan)
    in_platform_part = storages(uuid.UUID(platform_id))
    _put_old(in_platform_part, orphan)
    kept = _submit(client, platform_auth, 40)  # a live job's source in the tenant's part of the platform storage
    for path in [*own_root.rglob("*"), *Path(settings.LOCAL_STORAGE_DIR).rglob("*")]:
        if path.is_file():
            _old(path)

    task = TASKS["orphan-objects"]
    report = task.run(build_context(settings, db), task.clean_params({"dry_run": False}))

    assert not own.exists(orphan) and not in_platform_part.exists(orphan)
    assert report["objects_removed"] == 2 and report["errors"] == []
    assert in_platform_part.exists(f"media/{kept}/source.png")
    assert {entry["storage"] for entry in report["storages"]} >= {get_default_storage(settings).name,
                                                                  f"tenant-{platform_id}"}


def test_review_migration_0010_leaves_jobs_of_platform_storage_tenants_on_the_platform_storage(settings):
    """A tenant saved with JSON null before 0010 keeps its jobs on the platform storage."""
    from sqlalchemy import text

    from shared.db.migrate import upgrade
    from tests.conftest import PG_ADMIN_URL
    from tests.support.db import scratch_database

    with scratch_database(PG_ADMIN_URL, settings.DATABASE_URL, f"showreel_m0010_{os.getpid()}") as (url, engine):
        upgrade(url, "0009_moderation_hardening")
        tenant_id, job_id = uuid.uuid4(), uuid.uuid4()
        with engine.begin() as connection:
            # What create_tenant wrote before the fix: JSON null, not SQL NULL.
            connection.execute(text("INSERT INTO tenants (id, name, storage_config, limits, webhook_secrets, "
                                    "created_at) VALUES (:id, 'old', 'null', '{}', '[]', now())"), {"id": tenant_id})
            connection.execute(text(
                "INSERT INTO media_jobs (id, tenant_id, kind, source_key, file_name, content_type, size, sha256, "
                "preset, preset_version, status, attempts, max_attempts, steps, outputs, source_info, retryable, "
                "version, created_at, updated_at) VALUES (:id, :tenant, 'image', 'k', 'a.png', 'image/png', 1, "
                "'00', 'default', 1, 'done', 1, 3, '{}', '{}', '{}', true, 1, now(), now())"),
                {"id": job_id, "tenant": tenant_id})
        upgrade(url)
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT storage_id FROM media_jobs WHERE id = :id"), {"id": job_id}) is None
            assert connection.scalar(text("SELECT count(*) FROM storage_connections WHERE tenant_id = :id"),
                                     {"id": tenant_id}) == 0
            assert connection.scalar(text("SELECT storage_config IS NULL FROM tenants WHERE id = :id"),
                                     {"id": tenant_id}) is True


def test_review_a_tenant_on_the_platform_storage_is_stored_with_sql_null(client, db):
    """create_tenant without storage writes SQL NULL, which `IS NULL` filters find."""
    from sqlalchemy import text

    tenant_id, _ = _tenant(client, "plain", None)
    with db.engine.connect() as connection:
        assert connection.scalar(text("SELECT storage_config IS NULL FROM tenants WHERE id = :id"),
                                 {"id": uuid.UUID(tenant_id)}) is True
