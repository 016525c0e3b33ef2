"""Bad input is a 4xx problem with a stable code (or a failed job), and leaves nothing behind."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import pytest

from tests.support.media import jpeg_with_orientation_and_gps
from tests.support.runtime import pipeline_runtime, wait_for


def png_header_claiming(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
            + struct.pack(">I", 10) + b"IDAT" + zlib.compress(b"\x00" * 16)[:10] + b"\x00\x00\x00\x00")


BAD_FILES = {
    "text named .jpg": (b"hello, this is not a picture\n" * 20, "photo.jpg", "unsupported_media_type"),
    "empty file": (b"", "empty.png", "empty_file"),
    "PNG header claiming 30000x30000": (png_header_claiming(30000, 30000), "bomb.png", "image_too_large"),
    "HLS playlist named .mp4": ((b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n"
                                 b"#EXT-X-ENDLIST\n"), "clip.mp4", "unsupported_media_type"),
    "ffconcat script named .mp4": (b"ffconcat version 1.0\nfile '/etc/passwd'\n", "clip.mp4",
                                   "unsupported_media_type"),
    "HTML named .png": (b"<!doctype html><html><body><script>alert(1)</script></body></html>", "x.png",
                        "unsupported_media_type"),
    "random bytes named .mov": (os.urandom(4096), "clip.mov", "unsupported_media_type"),
}


def leftovers(settings) -> list[str]:
    """Every file still under the temp area or the local storage."""
    found = []
    for root in (Path(settings.TEMP_DIR), Path(settings.LOCAL_STORAGE_DIR)):
        if root.exists():
            found += [str(p) for p in root.rglob("*") if p.is_file()]
    return found


@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_bad_file_is_a_4xx_problem_and_leaves_nothing(client, settings, case):
    data, name, code = BAD_FILES[case]
    before = leftovers(settings)
    response = client.post("/api/media/", data={"file": (io.BytesIO(data), name)})
    assert 400 <= response.status_code < 500, response.get_json()
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["code"] == code
    assert {"type", "title", "status", "detail"} <= set(body)
    assert leftovers(settings) == before


def test_truncated_jpeg_ends_as_a_failed_job_with_nothing_kept(client, settings):
    data = jpeg_with_orientation_and_gps(800, 600)
    truncated = data[: len(data) // 2]
    with pipeline_runtime(settings):
        created = client.post("/api/media/", data={"file": (io.BytesIO(truncated), "cut.jpg")})
        if created.status_code >= 400:  # refused at intake: equally fine
            assert created.get_json()["code"] == "corrupt_media"
            return
        job_id = created.get_json()["job_id"]

        def finished():
            job = client.get(f"/api/media/{job_id}/").get_json()
            return job if job["status"] in {"done", "failed"} else None

        job = wait_for(finished, timeout=30)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "corrupt_media"
    assert leftovers(settings) == []
    retry = client.post(f"/api/media/{job_id}/retry/")
    assert retry.status_code == 409 and retry.get_json()["code"] == "job_not_retryable"


def test_missing_file_field_is_a_422_with_field_errors(client):
    response = client.post("/api/media/", data={"preset": "default"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error" and "file" in body["errors"]


def test_unknown_preset_is_a_400_problem(client, settings):
    response = client.post("/api/media/", data={"file": (io.BytesIO(jpeg_with_orientation_and_gps(64, 48)), "a.jpg"),
                                                "preset": "nope"})
    assert response.status_code == 400 and response.get_json()["code"] == "unknown_preset"
    assert leftovers(settings) == []


def test_video_only_preset_refuses_an_image(client):
    response = client.post("/api/media/", data={"file": (io.BytesIO(jpeg_with_orientation_and_gps(64, 48)), "a.jpg"),
                                                "preset": "video_quality"})
    assert response.status_code == 415 and response.get_json()["code"] == "preset_kind_mismatch"


def test_file_over_the_limit_is_a_413_problem(app, client, settings):
    app.config["SETTINGS"] = settings.replace(MAX_IMAGE_BYTES=1000, MAX_VIDEO_BYTES=1000)
    data = jpeg_with_orientation_and_gps(400, 300)
    response = client.post("/api/media/", data={"file": (io.BytesIO(data), "big.jpg")})
    assert response.status_code == 413 and response.get_json()["code"] == "file_too_large"
    assert leftovers(settings) == []


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://localhost:8080/hook", "http://10.0.0.5/hook", "http://169.254.169.254/latest",
    "http://[::1]/hook", "http://0x7f.0.0.1/hook", "http://2130706433/hook", "http://100.64.0.1/hook",
    "ftp://example.com/hook", "file:///etc/passwd", "http://[::ffff:127.0.0.1]/hook",
    "http://[::1", "http://[abc]/hook", "https://hooks.example/h\u00e9", "http://exa\u2100mple.com/",
])
def test_callback_urls_to_internal_targets_are_refused(client, settings, url):
    response = client.post("/api/media/", data={"file": (io.BytesIO(jpeg_with_orientation_and_gps(64, 48)), "a.jpg"),
                                                "callback_url": url})
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["code"] in {"callback_url_not_allowed", "callback_url_unresolvable"}
    assert leftovers(settings) == []


def test_callback_url_to_a_public_address_is_stored(client):
    response = client.post("/api/media/", data={"file": (io.BytesIO(jpeg_with_orientation_and_gps(64, 48)), "a.jpg"),
                                                "callback_url": "https://93.184.215.14/hook"})
    assert response.status_code == 201
    job = client.get(f"/api/media/{response.get_json()['job_id']}/").get_json()
    assert job["callback_url"] == "https://93.184.215.14/hook"


def test_a_json_endpoint_refuses_a_large_body_with_a_413(client, settings):
    response = client.post("/api/forms/validate/", data=b"{" + b" " * (settings.MAX_REQUEST_BYTES + 10) + b"}",
                           content_type="application/json")
    assert response.status_code == 413 and response.get_json()["code"] == "file_too_large"


def test_the_media_endpoint_still_takes_a_file_larger_than_the_json_limit(client, settings):
    big = jpeg_with_orientation_and_gps(1600, 1200) + b"\0" * (settings.MAX_REQUEST_BYTES + 10)
    response = client.post("/api/media/", data={"file": (io.BytesIO(big), "big.jpg")})
    assert response.status_code in (200, 201), response.get_json()
