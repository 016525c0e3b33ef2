"""The load benchmark's photo workload posts exactly its photos, each once, and ends.

Locust spawns a replacement for a user that stops while the others are still spawning. The
photo users finish fast on a fast system, so a replacement used to post photos past the
workload's (the 128 became 136) and then, past the last fixture, fail and re-run its task in a
busy loop until the 900 s time limit. Run against a stand-in server that finishes every job at
once, so users stop well before spawning ends. The media clients encode their form with urllib3
(FastHttpUser has no ``files=``): the stand-in parses each body with werkzeug, as the API does.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from werkzeug.formparser import parse_form_data

ROOT = Path(__file__).resolve().parents[1]
USERS, PHOTOS_PER_USER = 4, 2


class _FinishAtOnce(BaseHTTPRequestHandler):
    """POST /api/media/ accepts a form with a file (kept in ``posted``); GET /api/media/{id}/ says done."""

    posted: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _, _, files = parse_form_data({"REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(body),
                                       "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                                       "CONTENT_LENGTH": str(len(body))})
        if "file" not in files:
            self._json(400, {"code": "missing_file"})
            return
        self.posted.append(files["file"].read())
        self._json(201, {"job_id": str(uuid.uuid4())})

    def do_GET(self) -> None:
        self._json(200, {"status": "done"})

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", '"1"')
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def test_the_photo_workload_posts_each_photo_once_and_ends(tmp_path: Path) -> None:
    _FinishAtOnce.posted.clear()
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    for index in range(USERS * PHOTOS_PER_USER):
        (fixtures / f"photo-{index:03d}.jpg").write_bytes(b"\xff\xd8 not decoded by the stand-in \xff\xd9")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FinishAtOnce)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = tmp_path / "run.jsonl"
    try:
        # One user a second: the first ones are done long before the last one starts.
        subprocess.run([sys.executable, "-m", "bench.load.generate", "--host", f"http://127.0.0.1:{server.server_port}",
                        "--scenario", "photo", "--users", str(USERS), "--spawn-rate", "1",
                        "--photos-per-user", str(PHOTOS_PER_USER), "--poll", "0.05", "--seconds", "60",
                        "--fixtures", str(fixtures), "--out", str(out)],
                       cwd=ROOT, check=True, timeout=120, capture_output=True)
    finally:
        server.shutdown()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    run = next(line for line in lines if line["kind"] == "run")
    jobs = [line for line in lines if line["kind"] == "job"]
    assert len(jobs) == USERS * PHOTOS_PER_USER
    assert all(job["status"] == "done" for job in jobs)
    photos = sorted(path.read_bytes() for path in fixtures.glob("photo-*.jpg"))
    assert sorted(_FinishAtOnce.posted) == photos, "each photo is posted once, as the form's file field"
    assert run["ended"] - run["started"] < 30, "the run waited for its time limit instead of ending with its users"
