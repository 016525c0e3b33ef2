"""Run ffmpeg safely: hardened inputs, one working directory, a deadline, a kill switch.

ffmpeg follows references inside some inputs (HLS playlists, concat scripts,
image sequences), so it only ever gets the demuxer that sniffing picked, a
format and protocol whitelist, and relative paths inside the job's folder.
"""

from __future__ import annotations

import collections
import ctypes
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from shared.media.errors import FFmpegFailed, FFmpegInterrupted, MediaTimeout, ProcessingCanceled
from shared.settings import Settings

POLL_SECONDS = 0.25
STDERR_TAIL_BYTES = 4096

# Demuxer forced with -f -> demuxers allowed to open (ffmpeg matches any alias of a demuxer's name,
# so "mov" admits "mov,mp4,m4a,3gp,3g2,mj2" and "matroska" admits "matroska,webm").
FORMAT_WHITELISTS: dict[str, str] = {
    "mov": "mov",
    "matroska": "matroska",
    "avi": "avi",
}

# Options every run starts with: quiet stderr (only errors, so the tail is useful), never read stdin,
# overwrite the .part left behind by a killed run.
GLOBAL_ARGS: tuple[str, ...] = ("-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y")

_PR_SET_PDEATHSIG = 1

# The oldest ffmpeg taken from PATH. The engine is tested with the bundled n9; Debian 12's 5.1 lacks
# options the tests pass (-display_rotation, documented from 7.0 on) (docs/ARCHITECTURE.md, "One known ffmpeg").
MIN_FFMPEG_VERSION = (7, 0)
_VERSION = re.compile(r"ffmpeg version n?(\d+)\.(\d+)")


def ffmpeg_path(settings: Settings) -> str:
    """Return the one known ffmpeg: FFMPEG_PATH, else imageio-ffmpeg's, else a new enough one on PATH.

    Raises FFmpegInterrupted (the machine's fault, retried) when there is none.
    """
    if settings.FFMPEG_PATH:
        return settings.FFMPEG_PATH
    return _default_ffmpeg()


@functools.cache
def _default_ffmpeg() -> str:
    # Cached: the version is checked once per process (failures are not cached, so a fix is seen).
    bundled = _bundled_ffmpeg()
    if bundled is not None:
        return bundled
    found = shutil.which("ffmpeg")
    if found is None:
        raise FFmpegInterrupted(f"No ffmpeg binary: the imageio-ffmpeg one is missing and none is on PATH; "
                                f"install ffmpeg {_dotted(MIN_FFMPEG_VERSION)} or newer or set FFMPEG_PATH")
    version = ffmpeg_version(found)
    if version is None or version < MIN_FFMPEG_VERSION:
        raise FFmpegInterrupted(
            f"The ffmpeg on PATH ({found}) reports version {_dotted(version) if version else 'unknown'}; the "
            f"media engine needs {_dotted(MIN_FFMPEG_VERSION)} or newer and the imageio-ffmpeg binary is missing: "
            f"install a newer ffmpeg or set FFMPEG_PATH")
    return found


def _bundled_ffmpeg() -> str | None:
    """Return imageio-ffmpeg's own binary when it is there and runs, else None (never its PATH fallback)."""
    try:
        import imageio_ffmpeg
        from imageio_ffmpeg._definitions import FNAME_PER_PLATFORM, get_platform
    except ImportError:
        return None
    name = FNAME_PER_PLATFORM.get(get_platform())
    if not name:
        return None  # no binary is built for this platform
    path = Path(imageio_ffmpeg.__file__).parent / "binaries" / name
    if not os.access(path, os.X_OK) or ffmpeg_version(str(path)) is None:
        return None
    return str(path)


def ffmpeg_version(binary: str) -> tuple[int, int] | None:
    """Return (major, minor) of ``binary -version``; None when it does not run or names no release."""
    try:
        done = subprocess.run([binary, "-version"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    # "ffmpeg version 5.1.6-0+deb12u1", "ffmpeg version n9.0.2-17-g..."; git builds ("N-112233-g...") name none.
    match = _VERSION.match(done.stdout.decode(errors="replace")) if done.returncode == 0 else None
    return (int(match[1]), int(match[2])) if match else None


def _dotted(version: tuple[int, int]) -> str:
    return ".".join(map(str, version))


# fmt: off
def input_args(path: str, fmt: str, *, max_pixels: int) -> list[str]:
    """Return the hardened input options for ``path`` read with demuxer ``fmt``; raises ValueError."""
    try:
        whitelist = FORMAT_WHITELISTS[fmt]
    except KeyError:
        raise ValueError(f"no ffmpeg demuxer is allowed for format {fmt!r}") from None
    return [
        "-f", fmt,
        "-format_whitelist", whitelist,
        "-protocol_whitelist", "file",
        # An input option reaches the decoder: frames above this area fail to open (checked in ffmpeg n9).
        "-max_pixels", str(max_pixels),
        "-i", path,
    ]
# fmt: on


def job_path(path: str | os.PathLike[str], cwd: str | os.PathLike[str]) -> str:
    """Return ``path`` as ``./relative`` to ``cwd``; raises ValueError when it resolves outside it."""
    root = Path(cwd).resolve()
    target = Path(cwd, path).resolve()
    if target == root or root not in target.parents:
        raise ValueError(f"{path} is not inside the work directory {cwd}")
    # "./" keeps ffmpeg from reading a name such as "x:y.mp4" as a protocol "x".
    return "./" + target.relative_to(root).as_posix()


def run_ffmpeg(
    args: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    timeout: float,
    should_stop: Callable[[], bool] | None = None,
) -> str:
    """Run the command ``args`` (binary first) in ``cwd`` and return the tail of its stderr.

    Raises MediaTimeout after ``timeout`` seconds, ProcessingCanceled once ``should_stop()`` is true
    (checked every POLL_SECONDS), FFmpegFailed on a nonzero exit; the process group is killed first.
    """
    if not os.path.isdir(cwd):
        raise ValueError(f"work directory {cwd} does not exist")
    if should_stop is not None and should_stop():
        raise ProcessingCanceled("Processing was canceled before ffmpeg started")
    try:
        proc = subprocess.Popen(
            list(args),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            close_fds=True,
            # Its own process group, so a kill reaches anything ffmpeg started.
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()),  # noqa: PLW1509 - only prctl(PR_SET_PDEATHSIG), no locks
        )
    except OSError as exc:
        raise FFmpegInterrupted(f"Could not start {args[0]}: {exc}") from None
    assert proc.stderr is not None
    tail = _Tail(proc.stderr, STDERR_TAIL_BYTES)
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            try:
                returncode = proc.wait(timeout=max(0.0, min(POLL_SECONDS, remaining)))
                break
            except subprocess.TimeoutExpired:
                pass
            if should_stop is not None and should_stop():
                _kill_group(proc)
                raise ProcessingCanceled("Processing was canceled while ffmpeg was running", pid=proc.pid)
            if time.monotonic() >= deadline:
                _kill_group(proc)
                raise MediaTimeout(f"ffmpeg ran longer than {timeout:g} s and was stopped", pid=proc.pid)
    finally:
        # Covers exceptions from should_stop() and KeyboardInterrupt too: never leave ffmpeg behind.
        if proc.returncode is None:
            _kill_group(proc)
        tail.close()
    stderr = tail.text()
    if returncode < 0 or "No space left on device" in stderr:
        raise FFmpegInterrupted(f"ffmpeg was interrupted (status {returncode}): {stderr or 'no error output'}",
                                returncode=returncode, stderr=stderr)
    if returncode != 0:
        raise FFmpegFailed(
            f"ffmpeg exited with status {returncode}: {stderr or 'no error output'}",
            returncode=returncode,
            stderr=stderr,
        )
    return stderr


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # The leader is not reaped yet, so its pid (the group id) cannot have been reused.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Resolved once in the parent: the child between fork and exec must not import or dlopen anything.
_PRCTL = _load_prctl()


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """Return a pre-exec hook that makes the child get SIGKILL when its parent dies."""
    # "Parent" means the forking thread; run_ffmpeg waits in that thread, so it outlives ffmpeg.
    if _PRCTL is None:
        return None
    prctl = _PRCTL
    sigkill = int(signal.SIGKILL)

    def hook() -> None:
        # Only a libc call and os calls here: this runs in the forked child of a threaded worker.
        prctl(_PR_SET_PDEATHSIG, sigkill, 0, 0, 0)
        # The parent may have died before prctl took effect; then nobody would ever kill us.
        if os.getppid() != parent_pid:
            os._exit(1)

    return hook


class _Tail:
    """Drain a pipe in a thread, keeping only its last bytes, so ffmpeg never blocks on a full pipe."""

    def __init__(self, stream: IO[bytes], limit: int):
        self._stream = stream
        self._limit = limit
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._thread = threading.Thread(target=self._drain, name="ffmpeg-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        read = getattr(self._stream, "read1", self._stream.read)
        while True:
            chunk = read(4096)
            if not chunk:
                break
            self._chunks.append(chunk)
            self._size += len(chunk)
            while self._size - len(self._chunks[0]) >= self._limit:
                self._size -= len(self._chunks.popleft())

    def close(self) -> None:
        """Wait for the pipe to reach its end (the process group is gone) and close it."""
        self._thread.join(timeout=5)
        # A leftover holder of the pipe keeps the reader blocked; closing under it would block too.
        if not self._thread.is_alive():
            self._stream.close()

    def text(self) -> str:
        """Return the kept tail as text, trimmed to the limit."""
        data = b"".join(self._chunks)[-self._limit :]
        return data.decode("utf-8", errors="replace").strip()
