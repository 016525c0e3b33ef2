"""Issue 11, item 13: bytes still streaming count against the upload quotas and the temp area.

Each upload admitted before its body is read holds a reservation row (shared by every web
host) until its request ends; parallel uploads of one client cannot all pass on the same bytes.
"""

from __future__ import annotations

import io
import json
import threading
from datetime import timedelta

from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder, run_wsgi_app

from shared.db import utcnow
from shared.uploads.models import Upload, UploadReservation
from tests.support.media import png_bytes

MIB = 1024 * 1024
FORM_ALLOWANCE = 512 * 1024  # what the early check takes off a body for the form's other fields


class SlowBody(io.RawIOBase):
    """A client still uploading: sends a first piece, then waits for ``go``; ``finish=False`` hangs up."""

    def __init__(self, data: bytes, *, finish: bool = True):
        super().__init__()
        self.data, self.position, self.finish = data, 0, finish
        self.started, self.go = threading.Event(), threading.Event()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.position > 0:
            self.started.set()
            assert self.go.wait(30), "the test never let the body finish"
            if not self.finish:
                return 0
        piece = self.data[self.position:self.position + (len(buffer) if self.position else 16)]
        buffer[:len(piece)] = piece
        self.position += len(piece)
        return len(piece)


def _stream(client, body: SlowBody, *, ip: str, chunked: bool = False) -> tuple[threading.Thread, dict]:
    """POST ``body`` as a raw upload in a thread; the outcome (status, problem or upload) lands in the dict."""
    outcome: dict = {}
    environ = EnvironBuilder(path="/api/uploads/", method="POST", content_type="application/octet-stream",
                             environ_base={"REMOTE_ADDR": ip}).get_environ()
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = body, str(len(body.data))
    if chunked:  # no Content-Length; the server ends the stream where the body ends
        del environ["CONTENT_LENGTH"]
        environ["wsgi.input_terminated"] = True

    def run():
        app_iter, status, _ = run_wsgi_app(client.application, environ, buffered=True)
        outcome["status"], outcome["body"] = int(status.split()[0]), json.loads(b"".join(app_iter))

    thread = threading.Thread(target=run)
    thread.start()
    assert body.started.wait(30), "the upload never started streaming"
    return thread, outcome


def _post(client, data: bytes, *, ip: str):
    return client.post("/api/uploads/", data=data, content_type="application/octet-stream",
                       environ_base={"REMOTE_ADDR": ip})


def _reservations(db) -> list[tuple[str, int]]:
    with db.session() as session:
        return list(session.execute(select(UploadReservation.owner_ip, UploadReservation.size)).all())


def test_in_flight_bytes_count_against_the_daily_byte_quota_of_parallel_uploads(make_client, db):
    quota = MIB
    image = png_bytes(64, 48)
    first = SlowBody(image)
    thread, outcome = _stream(make_client(UPLOAD_DAILY_BYTES=quota), first, ip="192.0.2.10")
    try:
        assert _reservations(db) == [("192.0.2.10", len(image))]
        # Alone this body would pass the early check (the file is taken as at most the quota)...
        second = _post(make_client(UPLOAD_DAILY_BYTES=quota), b"\0" * (quota + FORM_ALLOWANCE), ip="192.0.2.10")
        # ...but the first upload's bytes, still streaming on another host, count.
        problem = second.get_json()
        assert (second.status_code, problem["code"]) == (429, "upload_quota_exceeded"), problem
        assert "still streaming" in problem["detail"] and problem["limit"] == quota
        assert second.headers["Retry-After"] == "60"  # only an upload in flight holds the quota
        assert _post(make_client(UPLOAD_DAILY_BYTES=quota), image, ip="192.0.2.11").status_code == 201
    finally:
        first.go.set()
        thread.join(30)
    assert outcome["status"] == 201, outcome
    assert _reservations(db) == []  # stored: the hold became the upload's row


def test_upload_reservation_is_released_when_the_client_stops_mid_body(make_client, db):
    client = make_client(UPLOAD_DAILY_BYTES=MIB)
    aborted = SlowBody(b"\0" * MIB, finish=False)
    thread, outcome = _stream(client, aborted, ip="192.0.2.20")
    assert _reservations(db) == [("192.0.2.20", MIB)]
    assert _post(client, png_bytes(), ip="192.0.2.20").status_code == 429  # the whole quota is held

    aborted.go.set()
    thread.join(30)

    assert outcome["status"] == 400, outcome
    assert _reservations(db) == []
    assert _post(client, png_bytes(), ip="192.0.2.20").status_code == 201


def test_upload_reservation_is_released_when_the_upload_is_refused_after_streaming(client, db):
    response = _post(client, b"not an image at all" * 100, ip="192.0.2.21")

    assert 400 <= response.status_code < 500 and response.status_code != 429, response.get_json()
    assert _reservations(db) == []


def test_chunked_upload_in_flight_holds_what_the_quota_has_left(make_client, db):
    quota = MIB
    image = png_bytes(64, 48)
    first = SlowBody(image)
    thread, outcome = _stream(make_client(UPLOAD_DAILY_BYTES=quota), first, ip="192.0.2.30", chunked=True)
    try:
        # Its length is unknown: it holds everything the quota has left until it ends.
        assert _reservations(db) == [("192.0.2.30", quota)]
        second = _post(make_client(UPLOAD_DAILY_BYTES=quota), image, ip="192.0.2.30")
        assert (second.status_code, second.get_json()["code"]) == (429, "upload_quota_exceeded")
    finally:
        first.go.set()
        thread.join(30)
    assert outcome["status"] == 201, outcome
    assert _reservations(db) == []


def test_temp_high_water_mark_counts_in_flight_bytes(make_client, db):
    high_water = 8 * MIB  # one address may hold 2 MiB of it
    _stored_uploads(db, 5 * MIB)
    streaming = SlowBody(b"\0" * (3 * MIB // 2), finish=False)
    thread, outcome = _stream(make_client(UPLOAD_TEMP_HIGH_WATER_BYTES=high_water), streaming, ip="192.0.2.40")
    try:
        # 5 MiB stored + 2 MiB would fit; with the 1.5 MiB still streaming it does not.
        body = b"\0" * (2 * MIB - 1 + FORM_ALLOWANCE)
        full = _post(make_client(UPLOAD_TEMP_HIGH_WATER_BYTES=high_water), body, ip="192.0.2.41")
        assert (full.status_code, full.get_json()["code"]) == (507, "temp_storage_full"), full.get_json()
        assert full.headers["Retry-After"] == "60"  # no expiry needed: the stream ends soon
    finally:
        streaming.go.set()
        thread.join(30)
    assert outcome["status"] == 400 and _reservations(db) == []


def test_expired_upload_reservations_count_for_nothing(client, db):
    # A host died mid-upload: its hold (the whole quota) stops counting when it expires.
    with db.session() as session:
        session.add(UploadReservation(owner_ip="192.0.2.50", size=10 * 1024**3,
                                      expires_at=utcnow() - timedelta(seconds=1)))

    assert _post(client, png_bytes(), ip="192.0.2.50").status_code == 201
    assert _reservations(db) == []  # purged by the next intake


def _stored_uploads(db, total: int) -> None:
    """Uploads of other clients taking ``total`` bytes of the temp area."""
    with db.session() as session:
        for index in range(5):
            session.add(Upload(kind="image", content_type="image/png", size=total // 5, sha256="0" * 64, info={},
                               temp_path=f"uploads/x{index}/source.png", file_name="a.png",
                               owner_ip=f"198.51.100.{index}", expires_at=utcnow() + timedelta(hours=1)))
        assert session.scalar(select(func.sum(Upload.size))) == total


def test_upload_reservation_does_not_count_against_its_own_upload(make_client, db):
    image = png_bytes()
    client = make_client(UPLOAD_DAILY_BYTES=len(image))  # the hold and the file: the whole quota each

    assert _post(client, image, ip="192.0.2.60").status_code == 201
    assert _reservations(db) == []


def test_review_old_ipv6_upload_rows_are_rewritten_to_the_canonical_owner_address(settings):
    """Rows saved with the short IPv6 spelling keep matching their owner after migration 0012."""
    import os

    from sqlalchemy import text

    from shared.db.migrate import upgrade
    from shared.uploads.service import Owner
    from tests.conftest import PG_ADMIN_URL
    from tests.support.db import scratch_database

    spellings = {"2001:db8::1": Owner(None, "2001:db8::1").ip, "::ffff:192.0.2.7": "192.0.2.7",
                 "192.0.2.8": "192.0.2.8"}
    with scratch_database(PG_ADMIN_URL, settings.DATABASE_URL, f"showreel_m0012_{os.getpid()}") as (url, engine):
        upgrade(url, "0011_hashtag_canonical")
        with engine.begin() as connection:
            for old in spellings:
                connection.execute(text(
                    "INSERT INTO uploads (id, kind, content_type, size, sha256, info, temp_path, file_name, "
                    "owner_ip, expires_at, created_at) VALUES (gen_random_uuid(), 'image', 'image/png', 1, '00', "
                    "'{}', 'uploads/x/source.png', 'a.png', :ip, now(), now())"), {"ip": old})
        upgrade(url)
        with engine.connect() as connection:
            stored = set(connection.scalars(text("SELECT owner_ip FROM uploads")))
    assert stored == set(spellings.values()) and "2001:0db8:0000:0000:0000:0000:0000:0001" in stored
