"""Temporary uploads: intake, previews, ownership, deletion, quotas against temp flooding."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import request
from PIL import Image
from sqlalchemy import update

import api.auth
from shared.db import utcnow
from shared.uploads.models import Upload
from tests.api.test_bad_input import BAD_FILES, leftovers
from tests.support.media import h264_mp4, png_bytes

WALLET_A = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
WALLET_B = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
OTHER_IP = "203.0.113.7"


def link(url: str) -> str:
    """The path and query of an absolute link, for the test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def upload(client, data: bytes, name: str = "avatar.png", **extra):
    environ = {"REMOTE_ADDR": extra.pop("ip")} if "ip" in extra else {}
    form = {"file": (io.BytesIO(data), name), **extra}
    return client.post("/api/uploads/", data=form, environ_base=environ)


@pytest.fixture()
def signed_in(monkeypatch):
    """Sign-in stand-in: the wallet named by the X-Test-Wallet header (the real one is a SIWE token)."""
    monkeypatch.setattr(api.auth, "current_wallet_or_none", lambda: request.headers.get("X-Test-Wallet"))
    return lambda wallet: {"X-Test-Wallet": wallet}


@pytest.fixture(scope="module")
def small_video(tmp_path_factory) -> bytes:
    path = h264_mp4(tmp_path_factory.mktemp("video") / "clip.mp4", seconds=2.0, size="320x240", audio=False)
    return path.read_bytes()


def stored_dir(settings) -> Path:
    """The temporary prefix of the (local) storage: uploads wait there, not on the web host."""
    return Path(settings.LOCAL_STORAGE_DIR) / "tmp" / "uploads"


def upload_folders(settings) -> list[str]:
    folder = stored_dir(settings)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_an_image_upload_is_probed_hashed_and_kept_for_48_hours(client, settings):
    data = png_bytes(64, 48)
    response = upload(client, data)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["kind"] == "image" and body["content_type"] == "image/png"
    assert body["size"] == len(data) and body["sha256"] == hashlib.sha256(data).hexdigest()
    assert (body["width"], body["height"], body["duration"]) == (64, 48, None)
    assert body["poster_url"] is None
    assert response.headers["Location"] == f"/api/uploads/{body['id']}/"
    from datetime import datetime

    ttl = datetime.fromisoformat(body["expires_at"]) - utcnow()
    assert timedelta(hours=47, minutes=59) < ttl <= timedelta(hours=48)
    # One copy, renamed out of the incoming folder into storage (local provider: same disk).
    assert (stored_dir(settings) / body["id"] / "source.png").read_bytes() == data
    assert list((Path(settings.TEMP_DIR) / "incoming").iterdir()) == []
    again = client.get(f"/api/uploads/{body['id']}/").get_json()
    assert {k: v for k, v in again.items() if not k.endswith("_url")} == \
        {k: v for k, v in body.items() if not k.endswith("_url")}

    preview = client.get(link(body["preview_url"]))
    assert preview.status_code == 200 and preview.data == data
    assert preview.content_type == "image/png"
    assert preview.headers["X-Content-Type-Options"] == "nosniff"


def test_a_video_preview_answers_range_requests_and_has_a_poster_made_once(client, settings, small_video):
    response = upload(client, small_video, "clip.mp4", kind="video")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["kind"] == "video" and body["content_type"] == "video/mp4"
    assert (body["width"], body["height"]) == (320, 240) and body["duration"] == pytest.approx(2.0, abs=0.1)

    whole = client.get(link(body["preview_url"]))
    assert whole.status_code == 200 and whole.data == small_video
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = client.get(link(body["preview_url"]), headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(small_video)}"
    assert part.data == small_video[1000:2000]
    tail = client.get(link(body["preview_url"]), headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.data == small_video[-100:]

    poster = client.get(link(body["poster_url"]))
    assert poster.status_code == 200 and poster.content_type == "image/jpeg"
    with Image.open(io.BytesIO(poster.data)) as image:
        assert image.format == "JPEG" and image.size == (320, 240)
    kept = stored_dir(settings) / body["id"] / "poster.jpg"
    made = kept.stat().st_mtime_ns
    assert client.get(link(body["poster_url"])).data == poster.data
    assert kept.stat().st_mtime_ns == made


def test_preview_links_cannot_be_altered_or_used_for_another_upload(client):
    first = upload(client, png_bytes(10, 10)).get_json()
    second = upload(client, png_bytes(12, 12)).get_json()
    token = urlsplit(first["preview_url"]).query
    swapped = client.get(f"/api/uploads/{second['id']}/preview?{token}")
    assert swapped.status_code == 403 and swapped.get_json()["code"] == "invalid_download_link"
    tampered = client.get(link(first["preview_url"])[:-3] + "abc")
    assert tampered.status_code == 403 and tampered.get_json()["code"] == "invalid_download_link"
    poster_of_image = client.get(f"/api/uploads/{first['id']}/poster?{token}")
    assert poster_of_image.status_code == 403
    missing = client.get(f"/api/uploads/{first['id']}/preview")
    assert missing.status_code == 403 and missing.get_json()["code"] == "invalid_download_link"


def test_an_expired_preview_link_is_refused(client, db, settings):
    from shared.uploads.service import upload_view

    body = upload(client, png_bytes()).get_json()
    with db.session() as session:
        row = session.get(Upload, body["id"])
    stale = upload_view(row, settings, now=utcnow() - timedelta(seconds=settings.PRESIGNED_URL_TTL + 1))
    response = client.get(link(stale["preview_url"]))
    assert response.status_code == 403 and response.get_json()["code"] == "expired_download_link"


def test_the_announced_kind_must_match_the_bytes(client, settings, small_video):
    response = upload(client, png_bytes(), "avatar.png", kind="video")
    assert response.status_code == 415 and response.get_json()["code"] == "upload_kind_mismatch"
    response = upload(client, small_video, "clip.mp4", kind="image")
    assert response.status_code == 415 and response.get_json()["code"] == "upload_kind_mismatch"
    response = upload(client, png_bytes(), "avatar.png", kind="sound")
    assert response.status_code == 422 and response.get_json()["code"] == "validation_error"
    assert "kind" in response.get_json()["errors"]
    assert leftovers(settings) == [] and upload_folders(settings) == []


@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_bad_files_are_the_media_api_problems_and_leave_nothing(client, settings, db, case):
    data, name, code = BAD_FILES[case]
    response = upload(client, data, name)
    assert 400 <= response.status_code < 500
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == code
    assert leftovers(settings) == []
    with db.session() as session:
        assert session.query(Upload).count() == 0


def incoming(settings) -> list[str]:
    folder = Path(settings.TEMP_DIR) / "incoming"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def raw_upload(client, data: bytes, query: str = "", content_type: str = "application/octet-stream"):
    return client.post(f"/api/uploads/{query}", data=data, content_type=content_type)


def test_a_raw_body_upload_is_the_same_upload_as_a_form(client, settings, small_video):
    response = raw_upload(client, small_video, "?kind=video&filename=holiday%20clip.mp4")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["kind"] == "video" and body["content_type"] == "video/mp4"
    assert body["size"] == len(small_video) and body["sha256"] == hashlib.sha256(small_video).hexdigest()
    assert (body["width"], body["height"]) == (320, 240)
    assert upload_folders(settings) == [body["id"]] and incoming(settings) == []
    with client.application.extensions["showreel.db"].session() as session:
        assert session.get(Upload, body["id"]).file_name == "holiday-clip.mp4"


def test_a_raw_body_type_is_sniffed_whatever_its_content_type_says(client, settings):
    response = raw_upload(client, png_bytes(40, 30), content_type="video/mp4")
    assert response.status_code == 201 and response.get_json()["content_type"] == "image/png"
    response = raw_upload(client, png_bytes(40, 30), "?kind=video")
    assert response.status_code == 415 and response.get_json()["code"] == "upload_kind_mismatch"
    response = raw_upload(client, b"hello, this is not a picture\n" * 20)
    assert response.status_code == 415 and response.get_json()["code"] == "unsupported_media_type"
    assert len(upload_folders(settings)) == 1 and incoming(settings) == []


def test_a_raw_body_over_the_limit_is_refused_and_leaves_nothing(make_client, settings):
    client = make_client(MAX_IMAGE_BYTES=1000, MAX_VIDEO_BYTES=1000)
    response = raw_upload(client, png_bytes(200, 200) + b"\0" * 4000)
    assert response.status_code == 413, response.get_json()
    assert upload_folders(settings) == [] and leftovers(settings) == []


def test_a_missing_file_is_a_422_naming_the_field(client):
    response = client.post("/api/uploads/", data={"kind": "image"})
    assert response.status_code == 422 and "file" in response.get_json()["errors"]


def test_delete_frees_the_space_at_once_and_the_upload_is_gone(client, settings, small_video):
    body = upload(client, small_video, "clip.mp4").get_json()
    assert client.get(link(body["poster_url"])).status_code == 200
    assert upload_folders(settings) == [body["id"]]
    response = client.delete(f"/api/uploads/{body['id']}/")
    assert response.status_code == 204
    assert upload_folders(settings) == [] and leftovers(settings) == []
    for response in (client.get(f"/api/uploads/{body['id']}/"), client.delete(f"/api/uploads/{body['id']}/"),
                     client.get(link(body["preview_url"]))):
        assert response.status_code == 404 and response.get_json()["code"] == "upload_not_found"


def test_only_the_owner_reads_or_deletes_an_upload(client, settings, signed_in):
    anonymous = upload(client, png_bytes()).get_json()
    elsewhere = {"REMOTE_ADDR": OTHER_IP}
    for response in (client.get(f"/api/uploads/{anonymous['id']}/", environ_base=elsewhere),
                     client.delete(f"/api/uploads/{anonymous['id']}/", environ_base=elsewhere)):
        assert response.status_code == 404 and response.get_json()["code"] == "upload_not_found"
    # The same address signed in later still owns what it uploaded before signing in.
    assert client.get(f"/api/uploads/{anonymous['id']}/", headers=signed_in(WALLET_A)).status_code == 200

    mine = client.post("/api/uploads/", data={"file": (io.BytesIO(png_bytes()), "a.png")},
                       headers=signed_in(WALLET_A)).get_json()
    # A wallet's upload is that wallet's, whatever address asks.
    assert client.get(f"/api/uploads/{mine['id']}/").status_code == 404
    assert client.get(f"/api/uploads/{mine['id']}/", headers=signed_in(WALLET_B)).status_code == 404
    assert client.delete(f"/api/uploads/{mine['id']}/", headers=signed_in(WALLET_B)).status_code == 404
    assert client.get(f"/api/uploads/{mine['id']}/", headers=signed_in(WALLET_A),
                      environ_base={"REMOTE_ADDR": OTHER_IP}).status_code == 200
    assert client.delete(f"/api/uploads/{mine['id']}/", headers=signed_in(WALLET_A)).status_code == 204
    assert upload_folders(settings) == [anonymous["id"]]


def test_an_expired_upload_is_gone_for_its_owner(client, db):
    body = upload(client, png_bytes()).get_json()
    with db.session() as session:
        session.execute(update(Upload).values(expires_at=utcnow() - timedelta(seconds=1)))
    for response in (client.get(f"/api/uploads/{body['id']}/"), client.get(link(body["preview_url"])),
                     client.delete(f"/api/uploads/{body['id']}/")):
        assert response.status_code == 410 and response.get_json()["code"] == "upload_expired"


# -- quotas -------------------------------------------------------------------------------


def test_a_wallet_over_its_daily_count_gets_429_while_another_still_uploads(make_client, settings, signed_in):
    client = make_client(UPLOAD_DAILY_COUNT=2)
    for _ in range(2):
        assert client.post("/api/uploads/", data={"file": (io.BytesIO(png_bytes()), "a.png")},
                           headers=signed_in(WALLET_A)).status_code == 201
    kept = upload_folders(settings)
    refused = client.post("/api/uploads/", data={"file": (io.BytesIO(png_bytes()), "a.png")},
                          headers=signed_in(WALLET_A))
    assert refused.status_code == 429
    problem = refused.get_json()
    assert problem["code"] == "upload_quota_exceeded" and problem["limit"] == 2
    # The oldest of the two leaves the 24-hour window first.
    assert 86_000 < int(refused.headers["Retry-After"]) <= 86_401
    assert upload_folders(settings) == kept and list((Path(settings.TEMP_DIR) / "incoming").iterdir()) == []

    other = client.post("/api/uploads/", data={"file": (io.BytesIO(png_bytes()), "a.png")},
                        headers=signed_in(WALLET_B))
    assert other.status_code == 201
    # Anonymous uploads from the same address have a quota of their own.
    assert upload(client, png_bytes()).status_code == 201


def test_deleting_uploads_does_not_give_the_count_back(make_client, signed_in):
    client = make_client(UPLOAD_DAILY_COUNT=1)
    body = upload(client, png_bytes()).get_json()
    assert client.delete(f"/api/uploads/{body['id']}/").status_code == 204
    assert upload(client, png_bytes()).status_code == 429


def test_an_address_over_its_daily_bytes_gets_429_while_another_address_uploads(make_client, settings):
    data = png_bytes(64, 48)
    client = make_client(UPLOAD_DAILY_BYTES=2 * len(data) + 10)
    assert upload(client, data).status_code == 201
    assert upload(client, data).status_code == 201
    refused = upload(client, data)
    assert refused.status_code == 429 and refused.get_json()["code"] == "upload_quota_exceeded"
    assert refused.get_json()["limit"] == 2 * len(data) + 10
    assert int(refused.headers["Retry-After"]) > 86_000
    assert upload(client, data, ip=OTHER_IP).status_code == 201
    too_big = upload(client, png_bytes(400, 400), ip="198.51.100.1")
    assert too_big.status_code == 413 and too_big.get_json()["code"] == "file_too_large"
    assert list((Path(settings.TEMP_DIR) / "incoming").iterdir()) == []


def test_one_address_has_a_ceiling_however_many_wallets_it_signs_in_with(make_client, signed_in):
    client = make_client(UPLOAD_DAILY_COUNT=5, UPLOAD_IP_DAILY_COUNT=2)
    for wallet in (WALLET_A, WALLET_B):
        assert client.post("/api/uploads/", data={"file": (io.BytesIO(png_bytes()), "a.png")},
                           headers=signed_in(wallet)).status_code == 201
    third = "0x" + "7" * 40
    refused = client.post("/api/uploads/", data={"file": (io.BytesIO(png_bytes()), "a.png")},
                          headers=signed_in(third))
    assert refused.status_code == 429 and refused.get_json()["limit"] == 2
    assert client.post("/api/uploads/", data={"file": (io.BytesIO(png_bytes()), "a.png")},
                       headers=signed_in(third), environ_base={"REMOTE_ADDR": OTHER_IP}).status_code == 201


def test_a_quota_refusal_comes_before_the_body_is_stored(make_client, settings):
    client = make_client(UPLOAD_DAILY_COUNT=1)
    assert upload(client, png_bytes()).status_code == 201
    stored = []
    from shared import files

    original = files.HashingWriter.__init__

    def spy(self, *args, **kwargs):
        stored.append(True)
        original(self, *args, **kwargs)

    files.HashingWriter.__init__ = spy
    try:
        assert upload(client, png_bytes()).status_code == 429
    finally:
        files.HashingWriter.__init__ = original
    assert stored == []


def test_the_temp_high_water_mark_answers_507_until_space_is_freed(make_client, settings):
    data = png_bytes(64, 48)
    # One address may fill a quarter of the area at most: four addresses fill it.
    client = make_client(UPLOAD_TEMP_HIGH_WATER_BYTES=4 * len(data))
    first = upload(client, data).get_json()
    for ip in (OTHER_IP, "198.51.100.2", "198.51.100.3"):
        assert upload(client, data, ip=ip).status_code == 201
    full = upload(client, data, ip="198.51.100.1")
    assert full.status_code == 507
    assert full.content_type == "application/problem+json" and full.get_json()["code"] == "temp_storage_full"
    # The first upload expires in 48 hours: that is when room comes back by itself.
    assert 172_000 < int(full.headers["Retry-After"]) <= 172_801
    assert client.delete(f"/api/uploads/{first['id']}/").status_code == 204
    assert upload(client, data, ip="198.51.100.1").status_code == 201


def test_two_uploads_racing_for_the_last_slot_are_serialized(db, settings, tmp_path):
    from shared.files import ReceivedFile
    from shared.uploads import service
    from shared.uploads.errors import UploadQuotaExceeded

    limited = settings.replace(UPLOAD_DAILY_COUNT=1)
    owner = service.Owner(wallet=None, ip="192.0.2.1")
    incoming = Path(settings.TEMP_DIR) / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / "race.part"
    path.write_bytes(png_bytes())
    received = ReceivedFile(path=path, size=path.stat().st_size, sha256="0" * 64, file_name="a.png")
    outcome: list[object] = []

    with db.session() as session:
        # Another intake holds the lock and is about to insert the one allowed upload.
        service._serialize_intake(session)
        racer = threading.Thread(target=lambda: outcome.append(
            _attempt(service.receive_upload, db, limited, received, owner)))
        racer.start()
        time.sleep(0.5)
        assert racer.is_alive(), "the second intake did not wait for the first"
        session.add(Upload(kind="image", content_type="image/png", size=1, sha256="1" * 64, info={},
                           temp_path="uploads/x/source.png", file_name="a.png", owner_ip=owner.ip,
                           expires_at=utcnow() + timedelta(hours=1)))
    racer.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], UploadQuotaExceeded)
    assert upload_folders(settings) == [] and not path.exists()


def _attempt(function, *args):
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 - handed back to the test thread
        return exc


# -- playable media: an upload is proven to decode before any quote is given -----------------------


def _cut_jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((640, 480), 60).convert("RGB").save(out, "JPEG", quality=90)
    data = out.getvalue()
    return data[: len(data) // 2]


def _cut_mp4(folder: Path) -> bytes:
    data = h264_mp4(folder / "whole.mp4", seconds=5.0, size="320x240").read_bytes()
    return data[: int(len(data) * 0.6)]  # index first (faststart): it still promises 5 s


@pytest.mark.parametrize("case", ["jpeg cut in half", "mp4 cut at 60 %"])
def test_playable_media_undecodable_uploads_are_refused_and_leave_nothing(client, settings, db, tmp_path, case):
    data, name = (_cut_jpeg(), "me.jpg") if case.startswith("jpeg") else (_cut_mp4(tmp_path), "me.mp4")

    response = upload(client, data, name)

    assert response.status_code == 422, response.get_json()
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == "corrupt_media"
    assert leftovers(settings) == [] and upload_folders(settings) == []
    with db.session() as session:
        assert session.query(Upload).count() == 0
