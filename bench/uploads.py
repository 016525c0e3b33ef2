"""Upload intake: a 1 GiB video streamed to the web process vs SHA-256 alone over the same file (target ≥ 0.9×).

The web process is the Procfile's (gunicorn, one worker, four threads) on a SQLite
database in a temporary folder. The client sends each request with ``socket.sendfile``
so that it costs next to nothing; the intake time runs from the first byte sent to the
last byte of the ``201`` answer, so it includes receiving, hashing, writing, the type
sniff and probe, the rename into the upload's folder and the database row. Both ways
in are measured: the multipart form (werkzeug's parser, fed straight from the socket)
and the raw body (``application/octet-stream``; received into two aligned buffers, each
hashed by one helper thread and written with O_DIRECT by another). The copy is
``shutil.copyfile`` of the same file into the same temp folder (in-kernel
``sendfile``, no hashing), shown for reference. Each round also times SHA-256 alone over
the same (cached) file: no intake that hashes every byte can be faster than that, so SPEC 11
judges the intake against it (speed ≥ 0.9× SHA-256 alone, same file, same run). Storage
provider: ``local`` (STORAGE_PROVIDER=local): the intake moves the received file into the platform
storage (``tmp/uploads/<id>/``) before it answers, which on the local provider is a rename into
LOCAL_STORAGE_DIR (same file system, no second write); that put is also timed alone, as its own row
(``move_file`` of a 1 GiB file, in this process). With S3 the put is a streamed upload instead, not
measured here.

Each is measured twice: to the answer (what the client waits for; for the copy, to the page
cache) and to disk (each followed by ``fsync`` of the written file, after the answer; the raw
body's bytes are on the device by then, the form's and the copy's are in the page cache). Before every run ``sync`` empties the dirty page cache, and the
contenders take turns in a rotating order. Peak RSS is the web worker's ``VmHWM``.

Run alone: ``python -m bench.uploads``.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
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
from shared.settings import Settings

GIB = 1024**3
MB = 1024**2
ROUNDS = 5
CONTENDERS = ("multipart", "raw", "copy")
TARGET_RATIO = 0.9  # SPEC 11: intake speed / SHA-256-alone speed over the same file
TARGET_RSS_MB = 100
BOUNDARY = "showreel-bench-boundary-41c9"


def make_video(folder: Path) -> Path:
    """A real 1-second H.264 MP4 padded by a top-level ``free`` box to exactly 1 GiB (written, not sparse)."""
    from shared.media.ffmpeg import ffmpeg_path

    clip_path = folder / "clip.mp4"
    subprocess.run([ffmpeg_path(Settings.from_env({})), "-hide_banner", "-loglevel", "error", "-y",
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


def upload(port: int, path: Path, way: str = "multipart") -> tuple[float, dict]:
    """Post ``path`` as a form or as the raw body (sendfile); return the seconds to the answer, its JSON."""
    if way == "multipart":
        preamble = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
                    "Content-Type: video/mp4\r\n\r\n").encode()
        epilogue = f"\r\n--{BOUNDARY}--\r\n".encode()
        target, content_type = "/api/uploads/", f"multipart/form-data; boundary={BOUNDARY}"
    else:
        preamble = epilogue = b""
        target, content_type = "/api/uploads/?kind=video&filename=big.mp4", "application/octet-stream"
    length = len(preamble) + path.stat().st_size + len(epilogue)
    with socket.create_connection(("127.0.0.1", port), timeout=600) as sock, open(path, "rb") as source:
        started = time.perf_counter()
        sock.sendall(f"POST {target} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nContent-Type: "
                     f"{content_type}\r\nContent-Length: {length}\r\n\r\n".encode() + preamble)
        sock.sendfile(source)
        if epilogue:
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


def sha256_seconds(path: Path) -> tuple[float, str]:
    """SHA-256 of the file alone (1 MiB reads from the page cache) and its digest: a floor for any intake."""
    digest = hashlib.sha256()
    buffer = bytearray(MB)
    view = memoryview(buffer)
    started = time.perf_counter()
    with open(path, "rb", buffering=0) as source:
        while read := source.readinto(buffer):
            digest.update(view[:read])
    return time.perf_counter() - started, digest.hexdigest()


def _cpu_seconds(worker) -> float:
    """CPU seconds used so far by the web worker (all its threads) and this process (client or copy)."""
    times = worker.cpu_times()
    own = resource.getrusage(resource.RUSAGE_SELF)
    return times.user + times.system + own.ru_utime + own.ru_stime


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def stored_path(settings, upload_id: str) -> Path:
    """Where the local provider keeps an upload's source (the intake moved it there)."""
    from shared.uploads.service import SOURCE_STEM, storage_folder, upload_storage

    return upload_storage(settings).local_path(f"{storage_folder(upload_id)}{SOURCE_STEM}.mp4")


def put_seconds(settings, source: Path, temp_dir: Path) -> float:
    """Time the intake's storage put alone: ``move_file`` of a 1 GiB file into the local provider."""
    from shared.uploads.service import upload_storage

    storage = upload_storage(settings)
    incoming = temp_dir / "put-bench.mp4"
    shutil.copyfile(source, incoming)
    key = "tmp/uploads/bench-put/source.mp4"
    started = time.perf_counter()
    storage.move_file(key, incoming, "video/mp4")
    seconds = time.perf_counter() - started
    storage.delete(key)
    return seconds


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
               "LOCAL_STORAGE_DIR": str(data_dir / "storage"),
               # Every run uploads 1 GiB from one address: lift the daily quotas out of the way.
               "UPLOAD_DAILY_BYTES": str(1024 * GIB), "UPLOAD_IP_DAILY_BYTES": str(256 * GIB),
               "UPLOAD_DAILY_COUNT": "1000", "UPLOAD_IP_DAILY_COUNT": "1000",
               "UPLOAD_TEMP_HIGH_WATER_BYTES": str(1024 * GIB)}
        upgrade(env["DATABASE_URL"])
        settings = Settings.from_env(env)
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
        start_rss = peak_rss(worker.pid)
        # Warm-up: one small upload each way takes the intake paths (imports, probe, database).
        small = work / "clip.mp4"
        for way in ("multipart", "raw"):
            _, answer = upload(port, small, way)
            request(port, "DELETE", f"/api/uploads/{answer['id']}/")
        rest_rss = peak_rss(worker.pid)

        copy_target = temp_dir / "copy.bin"
        samples: dict[str, list[float]] = {f"{name}{end}": [] for name in CONTENDERS for end in ("", "_sync")}
        samples["sha256"] = []
        samples["put"] = []
        cpu: dict[str, list[float]] = {name: [] for name in CONTENDERS}
        for index in range(rounds):
            order = [CONTENDERS[(index + k) % len(CONTENDERS)] for k in range(len(CONTENDERS))]
            hashed, expected = sha256_seconds(source)
            samples["sha256"].append(hashed)
            samples["put"].append(put_seconds(settings, source, temp_dir))
            for name in order:
                os.sync()
                cpu_before = _cpu_seconds(worker)
                if name != "copy":
                    seconds, answer = upload(port, source, name)
                    stored = stored_path(settings, answer["id"])
                    synced = fsync_seconds(stored)
                    if answer["size"] != GIB or answer["sha256"] != expected:
                        raise RuntimeError(f"stored {answer['size']} bytes with SHA-256 {answer['sha256']}")
                    request(port, "DELETE", f"/api/uploads/{answer['id']}/")
                else:
                    started = time.perf_counter()
                    shutil.copyfile(source, copy_target)
                    seconds = time.perf_counter() - started
                    synced = fsync_seconds(copy_target)
                    copy_target.unlink()
                cpu[name].append(_cpu_seconds(worker) - cpu_before)
                samples[name].append(seconds)
                samples[f"{name}_sync"].append(seconds + synced)
                print(f"  {name:<7} run {index + 1}: {seconds:6.2f} s, with fsync {seconds + synced:6.2f} s",
                      flush=True)
        return {"samples": samples, "cpu": cpu, "start_rss": start_rss, "rest_rss": rest_rss,
                "peak_rss": peak_rss(worker.pid)}
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
        return [y / x for x, y in zip(s[a], s[b])]  # speed ratio = reference time / intake time

    verdicts = []
    for way, label in (("raw", "raw body"), ("multipart", "multipart form")):
        verdicts.append(ratio_verdict(f"Upload intake ({label}) vs SHA-256 alone, to the 201",
                                      f"≥ {TARGET_RATIO}× SHA-256-alone speed", med["sha256"] / med[way],
                                      TARGET_RATIO, at_most=False, paired=paired(way, "sha256")))
    copy_ratios = {way: med["copy"] / med[way] for way in ("raw", "multipart")}
    rows = [
        (("1 GiB raw body, first byte sent to 201 (received into buffers, sha256 there, O_DIRECT write, "
          "sniff + probe, rename, row)"), "raw"),
        ("1 GiB multipart form, first byte sent to 201 (parse, sha256, write, sniff + probe, rename, row)",
         "multipart"),
        ("shutil.copyfile of the same file into TEMP_DIR", "copy"),
        ("raw body, then fsync of the stored file", "raw_sync"),
        ("multipart form, then fsync of the stored file", "multipart_sync"),
        ("copyfile, then fsync of the copy", "copy_sync"),
        ("for reference: SHA-256 alone over the cached file (one core, hashlib)", "sha256"),
        (("the storage put alone: `move_file` of a 1 GiB file into the local provider (a rename, part of the "
          "intake rows above)"), "put"),
    ]
    lines = [
        "## Upload intake",
        "",
        (f"A 1 GiB MP4 posted to the web process (gunicorn, 1 worker × 4 threads) by a client using "
         f"`sendfile`, as a raw body and as a multipart form, against SHA-256 alone over the same file (the "
         f"SPEC 11 reference) and `shutil.copyfile` of it; {ROUNDS} rounds, rotating order, `sync` before each "
         "run; medians (range). Storage provider: `local`: the intake moves the received file into the "
         "platform storage before it answers (`tmp/uploads/<id>/`, a rename on this provider; a streamed "
         "put on S3, not measured here); that put is timed alone in its own row."),
        "",
        "| what | seconds | MB/s | CPU s |",
        "| --- | --- | --- | --- |",
    ]
    for label, key in rows:
        spread = f"{min(s[key]):.2f}-{max(s[key]):.2f}"
        used = f"{statistics.median(m['cpu'][key]):.2f}" if key in m["cpu"] else ""
        if key == "put":  # a rename: milliseconds, and a speed would mean nothing
            spread = f"{min(s[key]) * 1000:.1f}-{max(s[key]) * 1000:.1f} ms"
            lines.append(f"| {label} | {med[key] * 1000:.1f} ms ({spread}) | | |")
            continue
        lines.append(f"| {label} | {med[key]:.2f} ({spread}) | {GIB / MB / med[key]:.0f} | {used} |")
    lines += [
        "",
        "| target | goal | measured | verdict |",
        "| --- | --- | --- | --- |",
    ]
    for verdict in verdicts:
        note = f" ({verdict.note})" if verdict.note else ""
        lines.append(f"| {verdict.name} | {verdict.goal} | {verdict.measured}{note} | {verdict.status} |")
    lines.append(f"| For reference: intake vs `cp` speed, to the page cache | (no goal: the old 0.8× cannot be met, "
                 f"SHA-256 bounds it) | raw {copy_ratios['raw']:.2f}×, multipart {copy_ratios['multipart']:.2f}× "
                 "| reported |")
    rss_status = "pass" if m["peak_rss"] / MB < TARGET_RSS_MB else "MISSED"
    bound = med["copy"] / med["sha256"]
    lines += [
        (f"| Web worker peak RSS during the uploads | < {TARGET_RSS_MB} MB | {m['peak_rss'] / MB:.0f} MB "
         f"(started at {m['start_rss'] / MB:.0f} MB, {m['rest_rss'] / MB:.0f} MB after the warm-up uploads; "
         f"the {2 * ROUNDS} uploads of 1 GiB added {(m['peak_rss'] - m['rest_rss']) / MB:.1f} MB) "
         f"| {rss_status} |"),
        "",
        ("MB are MiB here (VmHWM / 1024²), as everywhere in this file. *CPU s*: user + system seconds of the "
         "web worker (all threads) and of the sending or copying process during the run (the kernel's TCP "
         "work is charged to whichever of them it ran for; the probe's child process is not included)."),
        "",
        ("SHA-256 must see every byte and cannot be split across cores, so no hashing intake is faster than "
         f"SHA-256 alone: in this run that bounds the speed ratio to the page cache at {bound:.2f}× the copy "
         f"(copy {med['copy']:.2f} s, SHA-256 alone {med['sha256']:.2f} s). The raw body comes closest: the "
         "bytes are received into two 1 MiB buffers and, while one fills, one helper thread hashes the other "
         "and a second writes it around the page cache (O_DIRECT), so its time is about the largest of the "
         "three plus the probe, rename and row; on two cores the CPU seconds it needs (sending, receiving "
         "and hashing) set the rest of its time (docs/PROFILES.md, \"The way in\"). The form is parsed in "
         "Python (werkzeug) and every byte is copied into Python and written back through the page cache, "
         "on the same two cores the client and the kernel use; its fsync waits for those writes, the raw "
         "body's only for the file's metadata."),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
