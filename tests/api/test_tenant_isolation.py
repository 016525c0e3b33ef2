"""Tenant isolation: keys see only their own jobs, and outputs land in the tenant's storage and prefix."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from api.app import create_app
from shared.tenants.service import create_tenant
from tests.support.media import png_bytes
from tests.support.runtime import pipeline_runtime, wait_for


@pytest.fixture()
def production_client(db, redis_client, settings):
    return create_app(settings.replace(APP_ENV="production")).test_client()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _wait_done(client, job_id, key):
    def finished():
        job = client.get(f"/api/media/{job_id}/", headers=_auth(key)).get_json()
        return job if job["status"] in {"done", "failed"} else None

    return wait_for(finished, timeout=60, message="job to finish")


def test_outputs_land_in_each_tenants_storage_and_prefix_and_other_keys_cannot_touch_them(
        production_client, db, settings, tmp_path):
    acme_root = tmp_path / "acme-disk"
    _acme, acme_key = create_tenant(db, settings, "acme", storage={"provider": "local", "root": str(acme_root),
                                                                 "prefix": "showreel-out"})
    globex, globex_key = create_tenant(db, settings, "globex")
    image = png_bytes(90, 60)

    with pipeline_runtime(settings, queues=("media", "light")):
        jobs = {}
        for name, key in (("acme", acme_key), ("globex", globex_key)):
            created = production_client.post("/api/media/", data={"file": (io.BytesIO(image), "a.png")},
                                             headers=_auth(key))
            assert created.status_code == 201, created.get_json()
            jobs[name] = created.get_json()["job_id"]
        acme_job = _wait_done(production_client, jobs["acme"], acme_key)
        globex_job = _wait_done(production_client, jobs["globex"], globex_key)

    assert acme_job["status"] == globex_job["status"] == "done"
    acme_files = sorted(p.relative_to(acme_root).as_posix() for p in acme_root.rglob("*") if p.is_file()
                        and not p.name.startswith("."))
    assert f"showreel-out/media/{jobs['acme']}/thumb.jpg" in acme_files
    assert all(path.startswith(f"showreel-out/media/{jobs['acme']}/") for path in acme_files)
    platform = Path(settings.LOCAL_STORAGE_DIR)
    assert (platform / "tenants" / str(globex.id) / "media" / jobs["globex"] / "thumb.jpg").is_file()
    assert not (platform / "media" / jobs["acme"]).exists() and not (platform / "media" / jobs["globex"]).exists()

    link = acme_job["result_urls"]["thumb"]
    download = production_client.get(link.split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    assert download.status_code == 200 and download.data[:3] == b"\xff\xd8\xff"

    # The same bytes under another tenant are another job: no idempotency across tenants.
    assert jobs["acme"] != jobs["globex"]
    for method, path in (("get", f"/api/media/{jobs['globex']}/"), ("post", f"/api/media/{jobs['globex']}/retry/"),
                         ("post", f"/api/media/{jobs['globex']}/cancel/"),
                         ("get", f"/api/media/{jobs['globex']}/webhooks/")):
        response = getattr(production_client, method)(path, headers=_auth(acme_key))
        assert (response.status_code, response.get_json()["code"]) == (404, "job_not_found"), path
