"""Tenants are identified by API keys; production refuses anonymous calls."""

from __future__ import annotations

import io

import pytest

from api.app import create_app
from shared.tenants.service import issue_key
from tests.support.media import png_bytes


@pytest.fixture()
def production_client(db, redis_client, settings):
    return create_app(settings.replace(APP_ENV="production")).test_client()


def test_production_requires_an_api_key(production_client):
    response = production_client.post("/api/media/", data={"file": (io.BytesIO(png_bytes()), "a.png")})
    assert response.status_code == 401 and response.get_json()["code"] == "api_key_required"


def test_an_unknown_key_is_refused(production_client):
    response = production_client.get("/api/media/00000000-0000-4000-8000-000000000001/",
                                     headers={"Authorization": "Bearer sr_nope"})
    assert response.status_code == 401 and response.get_json()["code"] == "invalid_api_key"


def test_a_tenant_key_creates_jobs_only_that_tenant_sees(production_client, client, db):
    key = issue_key(db, "default")
    headers = {"Authorization": f"Bearer {key}"}
    created = production_client.post("/api/media/", data={"file": (io.BytesIO(png_bytes()), "a.png")},
                                     headers=headers)
    assert created.status_code == 201
    job_id = created.get_json()["job_id"]
    assert production_client.get(f"/api/media/{job_id}/", headers=headers).status_code == 200

    with db.session() as session:
        from shared.tenants.models import Tenant

        session.add(Tenant(name="acme", limits={}))
    other = {"Authorization": f"Bearer {issue_key(db, 'acme')}"}
    assert production_client.get(f"/api/media/{job_id}/", headers=other).status_code == 404


def test_an_anonymous_upload_in_production_is_refused_before_it_reaches_the_disk(production_client,
                                                                                   monkeypatch):
    from shared import files

    opened = []
    original = files.HashingWriter.__init__

    def spy(self, *args, **kwargs):
        opened.append(args)
        original(self, *args, **kwargs)

    monkeypatch.setattr(files.HashingWriter, "__init__", spy)
    body = png_bytes() + b"\0" * 2_000_000
    response = production_client.post("/api/media/", data={"file": (io.BytesIO(body), "a.png")})
    assert response.status_code == 401
    assert opened == []  # no temp file was even opened
