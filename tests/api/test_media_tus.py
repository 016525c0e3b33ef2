"""Resumable uploads (tus 1.0) of the media API: its own auth, preset and callback in Upload-Metadata,
early refusals, checksums, and the job made on a worker as ``POST /api/media/`` makes it."""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from api.app import create_app
from shared.jobs.models import MediaJob
from shared.tenants.service import create_tenant
from shared.uploads import tus
from shared.uploads.models import TusUpload, UploadReservation
from tests.support.media import png_bytes
from tests.support.runtime import pipeline_runtime, wait_for

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}
MIB = 1024 * 1024


@pytest.fixture()
def production_client(db, redis_client, settings):
    return create_app(settings.replace(APP_ENV="production")).test_client()


@pytest.fixture()
def tenant(db, settings):
    found, key = create_tenant(db, settings, "acme")
    return found, {"Authorization": f"Bearer {key}"}


def metadata(**pairs: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items())


def create(client, auth, length: int, **pairs: str):
    headers = {**TUS, **auth, "Upload-Length": str(length), "Upload-Metadata": metadata(**pairs)}
    return client.post("/api/media/tus/", headers=headers)


def upload_id_of(location: str) -> uuid.UUID:
    return uuid.UUID(urlsplit(location).path.rsplit("/", 1)[1])


def counts(db) -> tuple[int, int, int]:
    with db.session() as session:
        return (session.scalar(select(func.count()).select_from(TusUpload)),
                session.scalar(select(func.count()).select_from(UploadReservation)),
                session.scalar(select(func.count()).select_from(MediaJob)))


def stored_files(settings) -> list[Path]:
    root = Path(settings.LOCAL_STORAGE_DIR) / "tmp" / "uploads"
    return [path for path in root.rglob("*") if path.is_file() and not path.name.startswith(".")]


def test_media_tus_needs_the_tenants_api_key_before_any_byte(production_client, db):
    response = production_client.post("/api/media/tus/", data=b"x" * 10, headers={
        **OCTETS, "Upload-Length": "10", "Upload-Metadata": metadata(kind="image")})
    assert response.status_code == 401, response.data
    assert counts(db) == (0, 0, 0)
    assert production_client.options("/api/media/tus/").status_code == 204


def test_media_tus_upload_length_over_the_kind_limit_is_413_before_any_byte_is_stored(
        production_client, tenant, db, settings):
    _, auth = tenant
    response = create(production_client, auth, settings.MAX_IMAGE_BYTES + 1, filetype="image/png", preset="default")
    assert response.status_code == 413 and response.json["code"] == "file_too_large"
    assert response.json["limit"] == settings.MAX_IMAGE_BYTES
    assert counts(db) == (0, 0, 0) and stored_files(settings) == []


def test_media_tus_unknown_preset_or_private_callback_is_refused_at_creation(production_client, tenant, db):
    _, auth = tenant
    response = create(production_client, auth, 100, kind="image", preset="no-such-preset")
    assert response.status_code == 400 and response.json["code"] == "unknown_preset", response.data
    response = create(production_client, auth, 100, kind="image", callback_url="http://127.0.0.1:9/hook")
    assert response.status_code == 400 and response.json["code"] == "callback_url_not_allowed", response.data
    assert counts(db) == (0, 0, 0)


def test_media_tus_wrong_checksum_is_460_and_the_chunk_is_discarded(production_client, tenant, db, settings):
    _, auth = tenant
    image = png_bytes(64, 48)
    location = create(production_client, auth, len(image), filetype="image/png").headers["Location"]
    wrong = base64.b64encode(hashlib.sha256(image + b"x").digest()).decode()
    response = production_client.patch(location, data=image, headers={
        **OCTETS, **auth, "Upload-Offset": "0", "Upload-Checksum": f"sha256 {wrong}"})
    assert response.status_code == 460 and response.json["code"] == "checksum_mismatch"
    assert production_client.head(location, headers={**TUS, **auth}).headers["Upload-Offset"] == "0"
    assert all(path.stat().st_size == 0 for path in stored_files(settings))


def test_media_tus_uploads_are_the_tenants_own(production_client, tenant, db, settings):
    _, auth = tenant
    _, other_key = create_tenant(db, settings, "globex")
    other = {"Authorization": f"Bearer {other_key}"}
    location = create(production_client, auth, 12 * MIB, kind="video").headers["Location"]
    assert production_client.head(location, headers={**TUS, **other}).status_code == 404
    assert production_client.patch(location, data=b"\0" * (6 * MIB), headers={
        **OCTETS, **other, "Upload-Offset": "0"}).status_code == 404
    assert production_client.delete(location, headers={**TUS, **other}).status_code == 404
    # Nor is it reachable as a profile upload, whose id is its capability.
    profile = f"/api/uploads/tus/{upload_id_of(location)}"
    assert production_client.head(profile, headers=TUS).status_code == 404
    assert production_client.delete(location, headers={**TUS, **auth}).status_code == 204
    assert counts(db) == (0, 0, 0)


def test_media_tus_completion_makes_the_job_on_a_worker_as_post_media_does(production_client, tenant, db, settings):
    acme, auth = tenant
    image = png_bytes(90, 60)
    location = create(production_client, auth, len(image), filetype="image/png", filename="a.png",
                      preset="default").headers["Location"]
    response = production_client.patch(location, data=image, headers={**OCTETS, **auth, "Upload-Offset": "0"})
    assert response.status_code == 204, response.data
    status = production_client.get(location, headers=auth)
    assert status.status_code == 202 and status.json["status"] == "processing" and status.json["job_id"] is None
    assert counts(db)[2] == 0  # not hashed, no job yet

    with pipeline_runtime(settings, queues=("media", "light")):
        done = wait_for(lambda: (found := production_client.get(location, headers=auth)).json["status"] == "done"
                        and found, timeout=30, message="the job to be made")
        job_id = done.json["job_id"]
        assert done.headers["Location"] == f"/api/media/{job_id}/"
        job = wait_for(lambda: (found := production_client.get(f"/api/media/{job_id}/", headers=auth).json)
                       ["status"] in {"done", "failed"} and found, timeout=60, message="the job to finish")
    assert job["status"] == "done" and set(job["result_urls"]) >= {"thumb", "medium", "large"}
    assert stored_files(settings) == []  # the temporary bytes went to the tenant's job
    with db.session() as session:
        made = session.get(MediaJob, uuid.UUID(job_id))
        assert made.tenant_id == acme.id and made.sha256 == hashlib.sha256(image).hexdigest()
        assert session.scalar(select(func.count()).select_from(UploadReservation)) == 0

    # The same bytes and preset by the one-shot path: the same job (one creation logic).
    again = production_client.post("/api/media/", data={"file": (io.BytesIO(image), "b.png")}, headers=auth)
    assert again.status_code == 200 and again.json["job_id"] == job_id
    # A redelivered worker message changes nothing.
    assert tus.finish(db, settings, upload_id_of(location)) == tus.DONE
    assert counts(db)[2] == 1


def test_media_tus_refused_content_fails_with_the_one_shot_code(production_client, tenant, db, settings):
    _, auth = tenant
    data = b"not an image at all" * 10
    location = create(production_client, auth, len(data), kind="image").headers["Location"]
    production_client.patch(location, data=data, headers={**OCTETS, **auth, "Upload-Offset": "0"})
    assert tus.finish(db, settings, upload_id_of(location)) == tus.FAILED
    status = production_client.get(location, headers=auth)
    assert status.status_code == 415 and status.json["code"] == "unsupported_media_type"
    assert stored_files(settings) == [] and counts(db) == (1, 0, 0)


def test_media_tus_finished_and_failed_uploads_go_when_they_expire(production_client, tenant, db, settings):
    from datetime import timedelta

    from shared.db import utcnow

    _, auth = tenant
    data = b"not an image at all" * 10
    location = create(production_client, auth, len(data), kind="image").headers["Location"]
    production_client.patch(location, data=data, headers={**OCTETS, **auth, "Upload-Offset": "0"})
    tus.finish(db, settings, upload_id_of(location))
    later = utcnow() + timedelta(hours=settings.UPLOAD_TTL_HOURS, seconds=1)
    assert tus.expire(db, settings, now=later)["tus_uploads_expired"] == 1
    assert counts(db) == (0, 0, 0) and stored_files(settings) == []
    assert production_client.get(location, headers=auth).status_code == 404


def test_one_api_key_cannot_hold_more_than_a_quarter_of_the_temporary_area(db, redis_client, settings, tenant):
    _, auth = tenant
    client = create_app(settings.replace(UPLOAD_TEMP_HIGH_WATER_BYTES=40 * MIB)).test_client()

    first = create(client, auth, 8 * MIB, filetype="video/mp4", filename="a.mp4")
    second = create(client, auth, 8 * MIB, filetype="video/mp4", filename="b.mp4")

    assert first.status_code == 201
    assert second.status_code == 507 and second.json["code"] == "temp_storage_full"
    assert counts(db)[:2] == (1, 1)
