"""Upload intake: a 1 GiB video streamed to the web process vs copying the same file (target ≥ 0.8×).

The web process is the Procfile's (gunicorn, one worker, four threads) on a SQLite
database in a temporary folder. The client sends the multipart request with
``socket.sendfile`` so that it costs next to nothing; the intake time runs from the
first byte sent to the last byte of the ``201`` answer, so it includes parsing,
hashing, writing, the type sniff and probe, the rename into the upload's folder and
the database row. The copy is ``shutil.copyfile`` of the same file into the same
temp folder (in-kernel ``sendfile``, no hashing).

Both are measured twice: to the page cache (what the client waits for) and to disk
(each followed by ``fsync`` of the written file; the intake's file is synced after
the answer). Before every run ``sync`` empties the dirty page cache, and the
contenders take turns. Peak RSS is the web worker's ``VmHWM``.

Run alone: ``python -m bench.uploads``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, ratio_verdict

GIB = 1024**3
MB = 1024**2
ROUNDS = 3
TARGET_RATIO = 0.8
TARGET_RSS_MB = 100
BOUNDARY = "showreel-bench-boundary-41c9"


def make_video(folder: Path) -> Path:
    """A real 1-second H.264 MP4 padded by a top-level ``free`` box to exactly 1 GiB (written, not sparse)."""
    import imageio_ffmpeg

    clip_path = folder / "clip.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-movflags", "+faststart", str(clip_path)], check=True, timeout=120)
    clip = clip_path.read_bytes()
    path = folder / "big.mp4"
    block = hashlib.sha256(b"showreel").digest() * (MB // 32)
    with open(path, "wb") as out:
        out.write(clip + struct.pack(">I", GIB - len(clip)) + b"free")
        left = GIB - len(clip) - 8
        while left:
            left -= out.write(block[:min(len(block), left)])
    return path


def start_web(port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
                             "--workers", "1", "--threads", "4", "--timeout", "300", "api.app:wsgi()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def request(port: int, method: str, path: str, body: bytes = b"", headers: str = "") -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=600) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n{headers}"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        return _answer(sock)


def _answer(sock: socket.socket) -> tuple[int, bytes]:
    data = bytearray()
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def upload(port: int, path: Path) -> tuple[float, dict]:
    """Post ``path`` as a multipart upload (sendfile); return the seconds to the full answer and its JSON."""
    preamble = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
                "Content-Type: video/mp4\r\n\r\n").encode()
    epilogue = f"\r\n--{BOUNDARY}--\r\n".encode()
    length = len(preamble) + path.stat().st_size + len(epilogue)
    with socket.create_connection(("127.0.0.1", port), timeout=600) as sock, open(path, "rb") as source:
        started = time.perf_counter()
        sock.sendall(f"POST /api/uploads/ HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nContent-Type: "
                     f"multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n".encode()
                     + preamble)
        sock.sendfile(source)
        sock.sendall(epilogue)
        status, body = _answer(sock)
        seconds = time.perf_counter() - started
    if status != 201:
        raise RuntimeError(f"upload answered {status}: {body[:500]!r}")
    return seconds, json.loads(body)


def fsync_seconds(path: Path) -> float:
    started = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - started


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def measure(rounds: int = ROUNDS) -> dict:
    import psutil

    from shared.db.migrate import upgrade

    work = Path(tempfile.mkdtemp(prefix="bench-uploads-"))
    web = None
    try:
        data_dir = work / "data"
        temp_dir = data_dir / "tmp"
        env = {**os.environ, "APP_ENV": "embedded", "DATA_DIR": str(data_dir), "TEMP_DIR": str(temp_dir),
               "DATABASE_URL": f"sqlite:///{data_dir}/bench.db", "REDIS_URL": "", "SECRET_KEY": "bench",
               "LOG_LEVEL": "WARNING", "STORAGE_PROVIDER": "local",
               "LOCAL_STORAGE_DIR": str(data_dir / "storage")}
        upgrade(env["DATABASE_URL"])
        source = make_video(work)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env["PORT"] = str(port)
        web = start_web(port, env)
        deadline = time.monotonic() + 60
        while True:
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or web.poll() is not None:
                    raise RuntimeError("the web process did not start") from None
                time.sleep(0.2)
        (worker,) = psutil.Process(web.pid).children()
        # Warm-up: one small upload takes the intake path (imports, probe libraries, database).
        small = work / "clip.mp4"
        _, answer = upload(port, small)
        request(port, "DELETE", f"/api/uploads/{answer['id']}/")
        rest_rss = peak_rss(worker.pid)

        copy_target = temp_dir / "copy.bin"
        samples: dict[str, list[float]] = {"intake": [], "copy": [], "intake_sync": [], "copy_sync": []}
        for index in range(rounds):
            order = ["intake", "copy"] if index % 2 == 0 else ["copy", "intake"]
            for name in order:
                os.sync()
                if name == "intake":
                    seconds, answer = upload(port, source)
                    stored = temp_dir / "uploads" / answer["id"] / "source.mp4"
                    synced = fsync_seconds(stored)
                    if answer["size"] != GIB:
                        raise RuntimeError(f"stored {answer['size']} bytes")
                    request(port, "DELETE", f"/api/uploads/{answer['id']}/")
                else:
                    started = time.perf_counter()
                    shutil.copyfile(source, copy_target)
                    seconds = time.perf_counter() - started
                    synced = fsync_seconds(copy_target)
                    copy_target.unlink()
                samples[name].append(seconds)
                samples[f"{name}_sync"].append(seconds + synced)
                print(f"  {name:<7} run {index + 1}: {seconds:6.2f} s, with fsync {seconds + synced:6.2f} s",
                      flush=True)
        return {"samples": samples, "rest_rss": rest_rss, "peak_rss": peak_rss(worker.pid)}
    finally:
        if web is not None:
            web.terminate()
            try:
                web.wait(30)
            except subprocess.TimeoutExpired:
                web.kill()
        shutil.rmtree(work, ignore_errors=True)


def run() -> str:
    """Measure and return the markdown section for docs/BENCHMARKS.md."""
    m = measure()
    s = m["samples"]
    med = {name: statistics.median(values) for name, values in s.items()}

    def paired(a: str, b: str) -> list[float]:
        return [y / x for x, y in zip(s[a], s[b])]  # speed ratio = copy time / intake time

    cache = ratio_verdict("Upload intake vs copy, to the page cache", f"≥ {TARGET_RATIO}× copy speed",
                          med["copy"] / med["intake"], TARGET_RATIO, at_most=False,
                          paired=paired("intake", "copy"))
    disk = ratio_verdict("Upload intake vs copy, to disk (fsync)", f"≥ {TARGET_RATIO}× copy speed",
                         med["copy_sync"] / med["intake_sync"], TARGET_RATIO, at_most=False,
                         paired=paired("intake_sync", "copy_sync"))
    grown = (m["peak_rss"] - m["rest_rss"]) / MB
    rows = [
        ("1 GiB upload, first byte sent to 201 (stream, sha256, sniff + probe, rename, row)", "intake"),
        ("shutil.copyfile of the same file into TEMP_DIR", "copy"),
        ("upload, then fsync of the stored file", "intake_sync"),
        ("copyfile, then fsync of the copy", "copy_sync"),
    ]
    lines = [
        "## Upload intake",
        "",
        f"A 1 GiB MP4 posted to the web process (gunicorn, 1 worker × 4 threads) by a client using "
        f"`sendfile`, against `shutil.copyfile` of the same file; {ROUNDS} rounds, alternating order, "
        "`sync` before each run; medians (range).",
        "",
        "| what | seconds | MB/s |",
        "| --- | --- | --- |",
    ]
    for label, key in rows:
        spread = f"{min(s[key]):.2f}-{max(s[key]):.2f}"
        lines.append(f"| {label} | {med[key]:.2f} ({spread}) | {GIB / MB / med[key]:.0f} |")
    lines += [
        "",
        "| target | goal | measured | verdict |",
        "| --- | --- | --- | --- |",
    ]
    for verdict in (cache, disk):
        note = f" ({verdict.note})" if verdict.note else ""
        lines.append(f"| {verdict.name} | {verdict.goal} | {verdict.measured}{note} | {verdict.status} |")
    rss_status = "pass" if m["peak_rss"] / MB < TARGET_RSS_MB else "MISSED"
    lines += [
        f"| Web worker peak RSS during the upload | < {TARGET_RSS_MB} MB | {m['peak_rss'] / MB:.0f} MB "
        f"(the app at rest: {m['rest_rss'] / MB:.0f} MB; the uploads added {grown:.1f} MB) | {rss_status} |",
        "",
        "The intake reads every byte in Python once (werkzeug's multipart parser), hashes it (SHA-256, one "
        "core) and writes it once; the copy moves pages inside the kernel and hashes nothing, so to the page "
        "cache it is bounded by memory speed while the intake is bounded by SHA-256 and the parser. To disk "
        "both wait for the same writes. The worker's memory does not grow with the file: its peak is the "
        "application's own size at rest plus a few MB of buffers.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
