"""The media-jobs API end to end: HTTP -> outbox -> stream -> Dramatiq -> storage."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image

from tests.support.media import h264_mp4, jpeg_with_orientation_and_gps
from tests.support.runtime import pipeline_runtime, wait_for


def post_file(client, data: bytes, name: str, **form):
    return client.post("/api/media/", data={"file": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


def job_state(client, job_id):
    return client.get(f"/api/media/{job_id}/").get_json()


def wait_until_final(client, job_id, timeout=60):
    def final():
        job = job_state(client, job_id)
        return job if job["status"] in {"done", "failed", "canceled"} else None

    return wait_for(final, timeout=timeout, message=f"job {job_id} to finish")


def test_jpeg_with_exif_rotation_gives_portrait_presets_without_gps(client, settings):
    with pipeline_runtime(settings):
        created = post_file(client, jpeg_with_orientation_and_gps(1600, 1200), "holiday.jpg")
        assert created.status_code == 201, created.get_json()
        job = wait_until_final(client, created.get_json()["job_id"])

    assert job["status"] == "done", job
    assert set(job["outputs"]) == {"thumb", "medium", "large", "thumb_webp", "medium_webp", "large_webp"}
    assert set(job["outputs"].values()) == {"done"}
    expected = {"thumb": (240, 320), "medium": (960, 1280), "large": (1200, 1600)}
    for name, size in expected.items():
        body = client.get(_path(job["result_urls"][name]))
        assert body.status_code == 200
        assert "attachment" in body.headers["Content-Disposition"]
        image = Image.open(io.BytesIO(body.data))
        assert image.format == "JPEG"
        assert image.size == size  # portrait: the EXIF rotation was applied
        exif = image.getexif()
        assert 0x8825 not in exif and 0x0112 not in exif  # no GPS, no orientation left


def test_mp4_gives_vp9_webm_poster_and_preview_with_metadata(client, settings, tmp_path):
    import av

    source = h264_mp4(tmp_path / "clip.mp4", seconds=2, size="320x240")
    with pipeline_runtime(settings):
        created = post_file(client, source.read_bytes(), "clip.mp4")
        assert created.status_code == 201, created.get_json()
        job = wait_until_final(client, created.get_json()["job_id"], timeout=120)

    assert job["status"] == "done", job
    assert job["result"]["width"] == 320 and job["result"]["height"] == 240
    assert job["result"]["codec"] == "h264"
    assert job["result"]["duration"] == pytest.approx(2.0, abs=0.1)
    assert set(job["outputs"]) == {"webm", "poster", "preview"}
    webm = tmp_path / "out.webm"
    webm.write_bytes(client.get(_path(job["result_urls"]["webm"])).data)
    with av.open(str(webm)) as container:
        stream = container.streams.video[0]
        assert container.format.name.startswith("matroska")
        assert stream.codec_context.name == "vp9"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert container.streams.audio[0].codec_context.name == "opus"
    poster = Image.open(io.BytesIO(client.get(_path(job["result_urls"]["poster"])).data))
    assert poster.format == "JPEG" and poster.size == (320, 240)


def test_same_file_and_preset_again_returns_the_existing_job(client):
    data = jpeg_with_orientation_and_gps(64, 48)
    first = post_file(client, data, "a.jpg")
    again = post_file(client, data, "b.jpg")
    other_preset = post_file(client, data, "a.jpg", preset="avatar")
    assert first.status_code == 201
    assert again.status_code == 200 and again.get_json()["job_id"] == first.get_json()["job_id"]
    assert other_preset.status_code == 201 and other_preset.get_json()["job_id"] != first.get_json()["job_id"]


def test_idempotency_key_replays_the_first_response_and_refuses_another_body(client):
    data = jpeg_with_orientation_and_gps(64, 48)
    headers = {"Idempotency-Key": "order-17"}
    first = client.post("/api/media/", data={"file": (io.BytesIO(data), "a.jpg")}, headers=headers)
    replay = client.post("/api/media/", data={"file": (io.BytesIO(data), "a.jpg")}, headers=headers)
    other = client.post("/api/media/", data={"file": (io.BytesIO(data), "a.jpg"), "preset": "avatar"},
                        headers=headers)
    assert first.status_code == 201
    assert replay.status_code == 201 and replay.get_json() == first.get_json()
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"


def test_an_idempotency_key_over_255_characters_is_a_400_problem(client):
    data = jpeg_with_orientation_and_gps(64, 48)
    response = client.post("/api/media/", data={"file": (io.BytesIO(data), "a.jpg")},
                           headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_idempotency_key"


def test_polling_with_if_none_match_gets_304(client):
    created = post_file(client, jpeg_with_orientation_and_gps(64, 48), "a.jpg").get_json()
    first = client.get(f"/api/media/{created['job_id']}/")
    etag = first.headers["ETag"]
    again = client.get(f"/api/media/{created['job_id']}/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


def test_a_poll_answers_304_from_the_version_and_200_once_the_job_changed(client, db, monkeypatch):
    from shared.jobs import service
    from shared.jobs.models import MediaJob

    created = post_file(client, jpeg_with_orientation_and_gps(64, 48), "a.jpg").get_json()
    url = f"/api/media/{created['job_id']}/"
    etag = client.get(url).headers["ETag"]

    def whole_row(*_args):
        raise AssertionError("a 304 must not load the whole job")

    with monkeypatch.context() as patch:
        patch.setattr(service, "get_job", whole_row)
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    with db.session() as session:
        session.get(MediaJob, uuid.UUID(created["job_id"])).version += 1
    changed = client.get(url, headers={"If-None-Match": etag})

    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["id"] == created["job_id"]
    assert client.get(url, headers={"If-None-Match": changed.headers["ETag"]}).status_code == 304


def test_a_poll_of_another_tenants_job_is_a_404_even_with_its_etag(client, db, settings):
    from shared.tenants.service import create_tenant

    created = post_file(client, jpeg_with_orientation_and_gps(64, 48), "a.jpg").get_json()
    url = f"/api/media/{created['job_id']}/"
    etag = client.get(url).headers["ETag"]
    _, key = create_tenant(db, settings, "globex")

    answer = client.get(url, headers={"If-None-Match": etag, "Authorization": f"Bearer {key}"})

    assert answer.status_code == 404 and answer.get_json()["code"] == "job_not_found"


def test_unknown_job_is_a_404_problem(client):
    response = client.get("/api/media/00000000-0000-4000-8000-00000000abcd/")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == "job_not_found"


def test_retry_of_a_done_job_is_a_409_problem(client, settings):
    with pipeline_runtime(settings):
        job_id = post_file(client, jpeg_with_orientation_and_gps(64, 48), "a.jpg").get_json()["job_id"]
        assert wait_until_final(client, job_id)["status"] == "done"
    response = client.post(f"/api/media/{job_id}/retry/")
    assert response.status_code == 409
    assert response.get_json()["code"] == "job_not_retryable"


def test_cancel_then_retry_runs_the_job_again(client, settings):
    job_id = post_file(client, jpeg_with_orientation_and_gps(64, 48), "a.jpg").get_json()["job_id"]
    canceled = client.post(f"/api/media/{job_id}/cancel/")
    assert canceled.status_code == 200 and canceled.get_json()["status"] == "canceled"
    retried = client.post(f"/api/media/{job_id}/retry/")
    assert retried.status_code == 200 and retried.get_json() == {"job_id": job_id, "status": "queued",
                                                                 "attempts": 2}
    with pipeline_runtime(settings):
        assert wait_until_final(client, job_id)["status"] == "done"


def test_presets_include_a_default_for_both_kinds(client):
    presets = {p["name"]: p for p in client.get("/api/presets/").get_json()}
    assert set(presets["default"]["kinds"]) == {"image", "video"}
    assert {"thumb", "medium", "large"} <= set(presets["default"]["image"]["outputs"])
    assert presets["default"]["video"]["outputs"] == ["webm", "poster", "preview"]


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"
