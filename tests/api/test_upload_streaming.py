"""A 1 GiB upload to a real gunicorn process: streamed to disk, hashed on the way, under 100 MB.

The file is a real MP4 (a 1-second H.264 clip, moov first) followed by a top-level
``free`` box that pads it to exactly 1 GiB, so the upload is sniffed, probed and
accepted as a video like any other: the test covers the whole intake, not a refusal.
It is sent both ways the API takes it: as a multipart form and as the raw body.
The memory checked is the gunicorn worker's ``VmHWM``: the highest resident set the
process serving the upload ever had, from its start, nothing subtracted.
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.support.media import h264_mp4, png_bytes
from tests.support.runtime import wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
GIB = 1024**3
MB = 1024**2
# SPEC 11: peak RSS < 100 MB (decimal megabytes: the stricter reading).
PEAK_LIMIT = 100 * 1000**2
CHUNK = b"\0" * MB
BOUNDARY = "showreel-test-boundary-7d1f0c"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss(pid: int) -> int:
    """VmHWM: the process's peak resident set since it started, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def padded_mp4(clip: bytes, size: int) -> tuple[bytes, int]:
    """The head of a ``size``-byte MP4: the clip plus the header of a ``free`` box of zeros to the end."""
    padding = size - len(clip)
    return clip + struct.pack(">I", padding) + b"free", padding - 8


def multipart_body(head: bytes, zeros: int, digest):
    """Yield the multipart request chunk by chunk (never the whole file), hashing the file part."""
    yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nvideo\r\n"
           f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
           "Content-Type: video/mp4\r\n\r\n").encode()
    digest.update(head)
    yield head
    while zeros:
        chunk = CHUNK if zeros >= len(CHUNK) else CHUNK[:zeros]
        digest.update(chunk)
        yield chunk
        zeros -= len(chunk)
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def zeros_body(head: bytes, zeros: int, digest):
    """Yield the raw body (the file itself) chunk by chunk, hashing it."""
    digest.update(head)
    yield head
    while zeros:
        chunk = CHUNK if zeros >= len(CHUNK) else CHUNK[:zeros]
        digest.update(chunk)
        yield chunk
        zeros -= len(chunk)


class Streamed:
    """A request body sent chunk by chunk with a Content-Length (requests sends bare generators chunked)."""

    def __init__(self, chunks, length: int):
        self.chunks, self.length = chunks, length

    def __iter__(self):
        return iter(self.chunks)

    def __len__(self) -> int:
        return self.length


# Packages of requirements-dev.txt that a production web process never has, but would import here
# because they are installed: structlog imports rich whenever it can (+3.7 MB), and rich comes only
# with schemathesis. Hiding them measures the web process as the image runs it.
DEV_ONLY_IMPORTS = ("rich",)


def hide_dev_only_packages(folder: Path) -> str:
    """A PYTHONPATH entry whose stand-ins make the dev-only packages fail to import, as in the image."""
    for name in DEV_ONLY_IMPORTS:
        (folder / f"{name}.py").write_text(f"raise ImportError('{name} is not in the runtime requirements')\n")
    return str(folder)


def start_web(port: int, hidden: Path) -> subprocess.Popen:
    """The web process of the Procfile (gunicorn, gthread), on the test database, as the image runs it."""
    env = {**os.environ, "PORT": str(port), "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           "LOG_LEVEL": "WARNING", "PYTHONPATH": hide_dev_only_packages(hidden)}
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                             "--workers", "1", "--threads", "4", "--timeout", "300", "api.app:wsgi()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.parametrize("way", ["multipart", "raw"])
def test_a_1_gib_video_upload_streams_to_disk_hashed_under_100_mb(db, settings, tmp_path, way):
    assert settings.MAX_VIDEO_BYTES >= GIB and settings.UPLOAD_DAILY_BYTES >= 2 * GIB
    clip = h264_mp4(tmp_path / "clip.mp4", seconds=1.0, size="160x120", audio=False).read_bytes()
    head, zeros = padded_mp4(clip, GIB)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    hidden = tmp_path / "runtime-only"
    hidden.mkdir()
    web = start_web(port, hidden)
    try:
        wait_until_serving(base, web)
        (worker,) = psutil.Process(web.pid).children()
        # Warm up what a busy worker has loaded: both intake paths, an image (Pillow) and a video.
        for name, data in (("clip.mp4", clip), ("avatar.png", png_bytes(64, 48))):
            warm = requests.post(f"{base}/api/uploads/", files={"file": (name, data)}, timeout=60)
            assert warm.status_code == 201, warm.text
            assert requests.delete(f"{base}/api/uploads/{warm.json()['id']}/", timeout=10).status_code == 204
        warm = requests.post(f"{base}/api/uploads/", data=clip, timeout=60,
                             headers={"Content-Type": "application/octet-stream"})
        assert warm.status_code == 201, warm.text
        assert requests.delete(f"{base}/api/uploads/{warm.json()['id']}/", timeout=10).status_code == 204
        before = peak_rss(worker.pid)

        digest = hashlib.sha256()
        if way == "multipart":
            length = sum(len(part) for part in multipart_body(head, 0, hashlib.sha256())) + zeros
            payload = Streamed(multipart_body(head, zeros, digest), length)
            url, content_type = f"{base}/api/uploads/", f"multipart/form-data; boundary={BOUNDARY}"
        else:
            payload = Streamed(zeros_body(head, zeros, digest), GIB)
            url, content_type = f"{base}/api/uploads/?kind=video&filename=big.mp4", "application/octet-stream"
        started = time.monotonic()
        response = requests.post(url, timeout=600, data=payload, headers={"Content-Type": content_type})
        seconds = time.monotonic() - started
        after = peak_rss(worker.pid)

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["size"] == GIB and body["sha256"] == digest.hexdigest()
        assert body["kind"] == "video" and body["content_type"] == "video/mp4"
        assert (body["width"], body["height"]) == (160, 120)
        stored = Path(settings.LOCAL_STORAGE_DIR) / "tmp" / "uploads" / body["id"] / "source.mp4"
        assert stored.stat().st_size == GIB
        assert list((Path(settings.TEMP_DIR) / "incoming").iterdir()) == []
        print(f"\n1 GiB {way} upload: {seconds:.1f} s ({GIB / MB / seconds:.0f} MiB/s); web worker peak RSS "
              f"{before / 1e6:.1f} MB before, {after / 1e6:.1f} MB after (+{(after - before) / 1e6:.1f} MB)")
        assert after < PEAK_LIMIT, f"the worker peaked at {after / 1e6:.1f} MB"
        assert after - before < 8 * MB, "the upload's own buffers must not grow with the file"

        assert requests.delete(f"{base}/api/uploads/{body['id']}/", timeout=30).status_code == 204
        assert not stored.parent.exists()
    finally:
        web.terminate()
        try:
            web.wait(30)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait(10)
