"""Resumable uploads (tus 1.0) of the profile flow: early refusals, checksums, offsets, resuming."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import func, select

from shared.events.models import OutboxEvent
from shared.uploads import tus
from shared.uploads.models import TusUpload, Upload, UploadReservation
from tests.api.test_upload_streaming import free_port, padded_mp4, start_web, wait_until_serving
from tests.support.media import h264_mp4, png_bytes
from tests.support.runtime import pipeline_runtime, wait_for

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}
MIB = 1024 * 1024


def metadata(**pairs: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items())


def create(client, length: int, **pairs: str):
    headers = {**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(**pairs)}
    return client.post("/api/uploads/tus/", headers=headers)


def offset_of(client, location: str) -> int:
    response = client.head(location, headers=TUS)
    assert response.status_code == 200, response.data
    return int(response.headers["Upload-Offset"])


def stored_files(settings) -> list[Path]:
    root = Path(settings.LOCAL_STORAGE_DIR) / "tmp" / "uploads"
    return [path for path in root.rglob("*") if path.is_file() and not path.name.startswith(".")]


def upload_id_of(location: str) -> str:
    return urlsplit(location).path.rsplit("/", 1)[1]


def finish(db, settings, location: str) -> str | None:
    """What the worker does after ``upload.assembled`` (shared.uploads.tus.finish)."""
    import uuid

    return tus.finish(db, settings, uuid.UUID(upload_id_of(location)))


def events(db, event_type: str) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == event_type))


def counts(db) -> tuple[int, int]:
    with db.session() as session:
        return (session.scalar(select(func.count()).select_from(TusUpload)),
                session.scalar(select(func.count()).select_from(UploadReservation)))


def test_tus_options_announce_the_protocol_and_the_minimum_chunk(client, settings):
    response = client.options("/api/uploads/tus/")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) >= {
        "creation", "creation-with-upload", "termination", "expiration", "checksum"}
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"
    assert int(response.headers["Tus-Min-Chunk-Size"]) == 5 * MIB
    assert int(response.headers["Tus-Max-Size"]) == max(settings.MAX_IMAGE_BYTES, settings.MAX_VIDEO_BYTES)


def test_tus_upload_length_over_the_kind_limit_is_413_before_any_byte_is_stored(client, db, settings):
    response = create(client, settings.MAX_IMAGE_BYTES + 1, filetype="image/png", filename="a.png")
    assert response.status_code == 413
    assert response.json["code"] == "file_too_large"
    assert response.json["limit"] == settings.MAX_IMAGE_BYTES
    assert counts(db) == (0, 0) and stored_files(settings) == []
    # The same length is fine for a video, whose limit is larger.
    assert create(client, settings.MAX_IMAGE_BYTES + 1, filetype="video/mp4").status_code == 201


def test_tus_creation_without_kind_or_version_is_refused(client, db):
    assert create(client, 100, filename="a.bin").json["code"] == "invalid_tus_request"
    response = client.post("/api/uploads/tus/", headers={"Upload-Length": "100", "Upload-Metadata": metadata(kind="image")})
    assert response.status_code == 412 and response.headers["Tus-Version"] == "1.0.0"
    assert counts(db) == (0, 0)


def test_tus_declared_length_counts_against_the_quota_until_termination(client, db, settings):
    response = create(client, 7 * MIB, kind="video")
    assert response.status_code == 201
    with db.session() as session:
        assert session.scalar(select(UploadReservation.size)) == 7 * MIB
    assert client.delete(response.headers["Location"], headers=TUS).status_code == 204
    assert counts(db) == (0, 0) and stored_files(settings) == []
    assert client.head(response.headers["Location"], headers=TUS).status_code == 404


def test_tus_wrong_checksum_is_460_and_the_chunk_is_discarded(client, db, settings):
    image = png_bytes(64, 48)
    location = create(client, len(image), filetype="image/png", filename="avatar.png").headers["Location"]
    wrong = base64.b64encode(hashlib.sha1(image + b"x").digest()).decode()
    response = client.patch(location, data=image, headers={**OCTETS, "Upload-Offset": "0",
                                                           "Upload-Checksum": f"sha1 {wrong}"})
    assert response.status_code == 460
    assert response.json["code"] == "checksum_mismatch"
    assert offset_of(client, location) == 0
    assert all(path.stat().st_size == 0 for path in stored_files(settings))

    right = base64.b64encode(hashlib.sha256(image).digest()).decode()
    response = client.patch(location, data=image, headers={**OCTETS, "Upload-Offset": "0",
                                                           "Upload-Checksum": f"sha256 {right}"})
    assert response.status_code == 204, response.data
    assert int(response.headers["Upload-Offset"]) == len(image)
    assert finish(db, settings, location) == tus.DONE
    shown = client.get(f"/api/uploads/{upload_id_of(location)}/")
    assert shown.status_code == 200, shown.data
    assert shown.json["sha256"] == hashlib.sha256(image).hexdigest() and shown.json["kind"] == "image"
    assert shown.json["status"] == "ready"
    assert counts(db) == (0, 0)  # the upload replaced the tus row and its hold
    assert offset_of(client, location) == len(image)  # a late HEAD sees it complete


def test_tus_last_patch_answers_before_the_file_is_hashed_and_a_worker_makes_it_ready(client, db, settings):
    image = png_bytes(64, 48)
    location = create(client, len(image), filetype="image/png", filename="avatar.png").headers["Location"]
    response = client.patch(location, data=image, headers={**OCTETS, "Upload-Offset": "0"})
    assert response.status_code == 204 and response.headers["Upload-Offset"] == str(len(image))
    # Nothing was hashed or probed in the request: the upload is processing, its hold still held.
    shown = client.get(f"/api/uploads/{upload_id_of(location)}/")
    assert shown.status_code == 202 and shown.json["status"] == "processing", shown.data
    assert "sha256" not in shown.json
    # Its holds: the bytes stored, and the rest of the declared length (none left).
    assert counts(db) == (1, 2) and events(db, "upload.assembled") == 1 and events(db, "upload.ready") == 0
    assert offset_of(client, location) == len(image)
    late = client.patch(location, data=b"x", headers={**OCTETS, "Upload-Offset": str(len(image))})
    assert late.status_code == 409 and late.json["code"] == "upload_offset_mismatch"

    assert finish(db, settings, location) == tus.DONE
    shown = client.get(f"/api/uploads/{upload_id_of(location)}/")
    assert shown.status_code == 200 and shown.json["sha256"] == hashlib.sha256(image).hexdigest()
    assert events(db, "upload.received") == 1 and events(db, "upload.ready") == 1


def test_tus_finishing_twice_or_after_a_worker_died_mid_hash_keeps_one_upload(client, db, settings):
    image = png_bytes(40, 30)
    location = create(client, len(image), kind="image").headers["Location"]
    client.patch(location, data=image, headers={**OCTETS, "Upload-Offset": "0"})
    # A worker killed mid-hash left half a scratch copy; the redelivered message starts over in a file
    # of its own (the host's sweep of TEMP_DIR/incoming removes the dead one's).
    scratch = Path(settings.TEMP_DIR) / "incoming" / f"{upload_id_of(location)}.dead.tus"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    scratch.write_bytes(image[:10])
    assert finish(db, settings, location) == tus.DONE
    assert finish(db, settings, location) is None  # the redelivery after success: nothing to do
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Upload)) == 1
    assert events(db, "upload.ready") == 1
    assert list(scratch.parent.iterdir()) == [scratch]  # only the dead delivery's
    assert [path.stat().st_size for path in stored_files(settings)] == [len(image)]


_KILLED_MID_HASH = textwrap.dedent("""
    import sys, time, uuid
    from shared.db import get_database
    from shared.settings import get_settings
    from shared.uploads import tus

    def stalls(path, digest):
        print("hashing", flush=True)
        time.sleep(120)

    tus._file_digest = stalls
    settings = get_settings()
    tus.finish(get_database(settings), settings, uuid.UUID(sys.argv[1]))
""")


def test_tus_worker_killed_mid_hash_leaves_it_processing_and_the_redelivery_finishes_it(client, db, settings):
    image = png_bytes(56, 40)
    location = create(client, len(image), kind="image").headers["Location"]
    client.patch(location, data=image, headers={**OCTETS, "Upload-Offset": "0"})
    worker = subprocess.Popen([sys.executable, "-c", _KILLED_MID_HASH, upload_id_of(location)],
                              stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2])
    try:
        assert worker.stdout.readline().strip() == b"hashing"
    finally:
        worker.kill()  # SIGKILL: no finally of its own runs
        worker.wait(30)
    assert list((Path(settings.TEMP_DIR) / "incoming").glob(f"{upload_id_of(location)}.*.tus"))
    assert client.get(f"/api/uploads/{upload_id_of(location)}/").status_code == 202
    assert counts(db) == (1, 2)  # the upload, the hold of its bytes and that of the rest (none)

    assert finish(db, settings, location) == tus.DONE  # what the redelivered message runs
    shown = client.get(f"/api/uploads/{upload_id_of(location)}/")
    assert shown.status_code == 200 and shown.json["sha256"] == hashlib.sha256(image).hexdigest()
    assert counts(db) == (0, 0) and events(db, "upload.ready") == 1
    # Only the killed delivery's file is left, for the host's sweep of TEMP_DIR/incoming.
    assert len(list((Path(settings.TEMP_DIR) / "incoming").iterdir())) == 1


def test_tus_upload_whose_finishing_keeps_failing_is_failed_not_left_processing(client, db, settings):
    import uuid

    image = png_bytes(30, 30)
    location = create(client, len(image), kind="image").headers["Location"]
    client.patch(location, data=image, headers={**OCTETS, "Upload-Offset": "0"})
    # What the retries-exhausted actor does after the storage failed on every attempt.
    tus.give_up(db, settings, uuid.UUID(upload_id_of(location)), "finishing failed 10 times")
    shown = client.get(f"/api/uploads/{upload_id_of(location)}/")
    assert shown.status_code == 410 and shown.json["code"] == "upload_processing_failed"
    assert "Retry-After" not in shown.headers  # final: retrying the GET changes nothing
    assert counts(db) == (1, 0) and stored_files(settings) == []
    assert finish(db, settings, location) == tus.FAILED


def test_tus_upload_is_finished_by_the_worker_through_the_outbox(client, db, settings):
    image = png_bytes(48, 48)
    location = create(client, len(image), kind="image").headers["Location"]
    with pipeline_runtime(settings, queues=("media",)):
        assert client.patch(location, data=image, headers={**OCTETS, "Upload-Offset": "0"}).status_code == 204
        shown = wait_for(lambda: (found := client.get(f"/api/uploads/{upload_id_of(location)}/")).status_code == 200
                         and found, timeout=20, message="the upload to be ready")
    assert shown.json["sha256"] == hashlib.sha256(image).hexdigest()


def test_tus_unsupported_checksum_algorithm_is_refused(client):
    location = create(client, 10, kind="image").headers["Location"]
    response = client.patch(location, data=b"0123456789", headers={**OCTETS, "Upload-Offset": "0",
                                                                  "Upload-Checksum": "md5 AAAA"})
    assert response.status_code == 400 and response.json["code"] == "checksum_algorithm_unsupported"


def test_tus_upload_still_receiving_shows_as_receiving_to_its_owner_only(client):
    location = create(client, 12 * MIB, kind="video").headers["Location"]
    shown = client.get(f"/api/uploads/{upload_id_of(location)}/")
    assert shown.status_code == 202 and shown.json["status"] == "receiving" and shown.json["size"] == 12 * MIB
    stranger = client.get(f"/api/uploads/{upload_id_of(location)}/", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert stranger.status_code == 404 and stranger.json["code"] == "upload_not_found"


def test_tus_chunk_smaller_than_5_mib_that_does_not_finish_is_refused(client):
    location = create(client, 12 * MIB, kind="video").headers["Location"]
    response = client.patch(location, data=b"\0" * MIB, headers={**OCTETS, "Upload-Offset": "0"})
    assert response.status_code == 400 and response.json["code"] == "upload_chunk_too_small"
    assert offset_of(client, location) == 0


def test_tus_patch_at_the_wrong_offset_is_409(client):
    location = create(client, 12 * MIB, kind="video").headers["Location"]
    response = client.patch(location, data=b"\0" * (6 * MIB), headers={**OCTETS, "Upload-Offset": "5"})
    assert response.status_code == 409 and response.json["code"] == "upload_offset_mismatch"
    response = client.patch(location, data=b"\0" * (6 * MIB), headers={**OCTETS, "Upload-Offset": "0"})
    assert response.status_code == 204 and response.headers["Upload-Offset"] == str(6 * MIB)
    assert offset_of(client, location) == 6 * MIB


def test_tus_refused_content_drops_the_bytes_and_answers_with_the_one_shot_code(client, db, settings):
    data = b"not an image at all" * 10
    location = create(client, len(data), kind="image").headers["Location"]
    response = client.patch(location, data=data, headers={**OCTETS, "Upload-Offset": "0"})
    assert response.status_code == 204, response.data
    assert finish(db, settings, location) == tus.FAILED
    assert stored_files(settings) == []
    assert counts(db) == (1, 0)  # the refusal is kept until expiry; the hold is freed
    shown = client.get(f"/api/uploads/{upload_id_of(location)}/")
    assert shown.status_code == 415 and shown.json["code"] == "unsupported_media_type", shown.data
    assert finish(db, settings, location) == tus.FAILED  # a redelivery changes nothing
    assert events(db, "upload.failed") == 1 and events(db, "upload.ready") == 0


def test_tus_bytes_of_another_kind_are_refused_as_upload_kind_mismatch(client, db, settings, tmp_path):
    clip = h264_mp4(tmp_path / "clip.mp4", seconds=0.5, size="64x48", audio=False).read_bytes()
    location = create(client, len(clip), kind="image").headers["Location"]
    client.patch(location, data=clip, headers={**OCTETS, "Upload-Offset": "0"})
    assert finish(db, settings, location) == tus.FAILED
    shown = client.get(f"/api/uploads/{upload_id_of(location)}/")
    assert shown.status_code == 415 and shown.json["code"] == "upload_kind_mismatch"


def test_tus_creation_with_upload(client):
    image = png_bytes(32, 32)
    headers = {**OCTETS, "Upload-Length": str(len(image)), "Upload-Metadata": metadata(kind="image")}
    response = client.post("/api/uploads/tus/", data=image, headers=headers)
    assert response.status_code == 201 and response.headers["Upload-Offset"] == str(len(image))


# -- a real client against a real server ------------------------------------------------------

_CLIENT = textwrap.dedent("""
    import socket, sys
    from tusclient import client
    from tusclient.storage.filestorage import FileStorage

    base, path, storage, mode = sys.argv[1:5]
    tus = client.TusClient(base + "/api/uploads/tus/")
    uploader = tus.uploader(path, chunk_size=8 * 1024 * 1024, store_url=True,
                            url_storage=FileStorage(storage), upload_checksum=True,
                            metadata={"filename": "big.mp4", "filetype": "video/mp4"})
    size = uploader.get_file_size()
    if mode == "interrupt":
        uploader.upload(stop_at=int(size * 0.6))
        # A chunk cut off mid-body: the connection is closed after 3 MiB of 8.
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock, open(path, "rb") as source:
            source.seek(uploader.offset)
            path_part = uploader.url.split(port, 1)[1]
            sock.sendall((f"PATCH {path_part} HTTP/1.1\\r\\nHost: {host}\\r\\nTus-Resumable: 1.0.0\\r\\n"
                          f"Content-Type: application/offset+octet-stream\\r\\nUpload-Offset: {uploader.offset}\\r\\n"
                          f"Content-Length: {8 * 1024 * 1024}\\r\\n\\r\\n").encode())
            sock.sendall(source.read(3 * 1024 * 1024))
        print(uploader.url, uploader.offset)
    else:
        uploader.upload()
        print(uploader.url, uploader.offset)
""")


def _run_client(base: str, path: Path, storage: Path, mode: str) -> tuple[str, int]:
    done = subprocess.run([sys.executable, "-c", _CLIENT, base, str(path), str(storage), mode],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    url, offset = done.stdout.split()
    return url, int(offset)


@pytest.mark.slow
def test_tus_200_mib_upload_interrupted_at_60_percent_resumes_in_a_new_process(db, settings, tmp_path):
    size = 200 * MIB
    clip = h264_mp4(tmp_path / "clip.mp4", seconds=1.0, size="160x120", audio=False).read_bytes()
    head, _ = padded_mp4(clip, size)
    source = tmp_path / "big.mp4"
    with source.open("wb") as out:
        out.write(head)
        out.truncate(size)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    hidden = tmp_path / "runtime-only"
    hidden.mkdir()
    web = start_web(port, hidden)
    try:
        wait_until_serving(base, web)
        storage = tmp_path / "tus-urls.json"
        url, offset = _run_client(base, source, storage, "interrupt")
        resumed_from = int(requests.head(url, headers=TUS, timeout=10).headers["Upload-Offset"])
        assert resumed_from == offset >= size * 0.6  # the cut-off chunk left nothing behind
        assert resumed_from < size

        with pipeline_runtime(settings, queues=("media",)):
            again, final = _run_client(base, source, storage, "resume")
            assert again == url and final == size
            upload_id = urlsplit(url).path.rsplit("/", 1)[1]
            # Hashed once, on the worker, streamed from storage.
            shown = wait_for(lambda: (found := requests.get(f"{base}/api/uploads/{upload_id}/", timeout=10))
                             .status_code != 202 and found, timeout=120, message="the upload to be ready")
        assert shown.status_code == 200, shown.text
        assert shown.json()["sha256"] == digest and shown.json()["size"] == size
        assert shown.json()["kind"] == "video"
        files = stored_files(settings)
        assert [path.stat().st_size for path in files] == [size]  # one copy
        assert list((Path(settings.TEMP_DIR) / "incoming").iterdir()) == []
    finally:
        web.terminate()
        try:
            web.wait(30)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait(10)



def test_tus_unfinished_upload_expires_with_its_hold_and_bytes(client, db, settings):
    from datetime import timedelta

    from shared.db import utcnow
    from shared.uploads import tus

    location = create(client, 12 * MIB, kind="video").headers["Location"]
    assert client.patch(location, data=b"\0" * (6 * MIB), headers={**OCTETS, "Upload-Offset": "0"}).status_code == 204
    assert tus.expire(db, settings)["tus_uploads_expired"] == 0
    report = tus.expire(db, settings, now=utcnow() + timedelta(hours=settings.UPLOAD_TTL_HOURS, seconds=1))
    assert report["tus_uploads_expired"] == 1
    assert counts(db) == (0, 0) and stored_files(settings) == []
    assert client.head(location, headers=TUS).status_code == 404


@pytest.mark.parametrize("value", ["\u00b2", "1" * 20])
def test_an_upload_length_that_is_not_ascii_digits_or_too_long_is_a_400_problem(client, db, value):
    response = client.post("/api/uploads/tus/", headers={
        **TUS, "Upload-Length": value.encode("latin-1").decode("latin-1"),
        "Upload-Metadata": metadata(kind="image")})

    assert response.status_code == 400
    assert response.json["code"] == "invalid_tus_request"
    assert counts(db) == (0, 0)


@pytest.mark.parametrize(("extra", "checksum", "status"), [
    (0, "wrong", 460),       # the whole file, with a wrong checksum
    (1, None, 400),          # less than the minimum chunk, and not the end of the upload
])
def test_a_refused_creation_with_upload_leaves_no_upload_and_no_hold(client, db, settings, extra, checksum, status):
    body = png_bytes(64, 48)
    headers = {**OCTETS, "Upload-Length": str(len(body) + extra), "Upload-Metadata": metadata(kind="image")}
    if checksum:
        headers["Upload-Checksum"] = "sha256 " + base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    response = client.post("/api/uploads/tus/", data=body, headers=headers)

    assert response.status_code == status
    # The answer carries no Location, so nobody could resume or end this upload: nothing of it stays.
    assert counts(db) == (0, 0)
    assert stored_files(settings) == []


def _held_bytes(db, at) -> int:
    from shared.uploads import service

    with db.session() as session:
        return service._held(session, UploadReservation.id.is_not(None), at, None)[1]


def test_an_idle_upload_holds_only_what_it_stored_and_its_next_patch_must_pass_the_quotas_again(db, settings,
                                                                                                 tmp_path):
    """A creation that sends nothing cannot keep the temporary area full for 48 hours."""
    from datetime import timedelta

    from shared.db import utcnow
    from shared.uploads import errors, service

    settings = settings.replace(UPLOAD_TEMP_HIGH_WATER_BYTES=32 * MIB, TUS_IDLE_HOLD_MINUTES=30)
    owner = service.Owner(wallet=None, ip="203.0.113.7")
    t0 = utcnow()
    row = tus.create(db, settings, owner, length=8 * MIB, metadata={"kind": "video"}, now=t0)
    assert _held_bytes(db, t0) == 8 * MIB
    assert _held_bytes(db, t0 + timedelta(minutes=31)) == 0  # idle: the declared length is free again

    body = tmp_path / "chunk"
    body.write_bytes(b"\0" * 6 * MIB)
    chunk = tus.Chunk(path=body, size=6 * MIB, sha256=hashlib.sha256(body.read_bytes()).hexdigest())
    t1 = t0 + timedelta(minutes=31)
    assert tus.append(db, settings, row.id, 0, chunk, None, now=t1).offset == 6 * MIB
    assert _held_bytes(db, t1) == 8 * MIB                              # 6 stored + 2 still to come
    assert _held_bytes(db, t1 + timedelta(minutes=31)) == 6 * MIB      # the stored bytes, until it expires

    # Idle again, and meanwhile the area filled up: the next PATCH is refused before it stores a byte.
    t2 = t1 + timedelta(minutes=31)
    for address, size in (("198.51.100.9", 8), ("192.0.2.44", 8), ("192.0.2.45", 8), ("192.0.2.46", 1)):
        tus.create(db, settings, service.Owner(wallet=None, ip=address), length=size * MIB,
                   metadata={"kind": "video"}, now=t2)
    body.write_bytes(b"\1" * 2 * MIB)
    last = tus.Chunk(path=body, size=2 * MIB, sha256=hashlib.sha256(body.read_bytes()).hexdigest())
    with pytest.raises(errors.TempStorageFull):
        tus.append(db, settings, row.id, 6 * MIB, last, None, now=t2)
