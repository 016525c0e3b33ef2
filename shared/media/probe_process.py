"""Probe an uploaded video in a child process, so the process that received it never loads PyAV.

PyAV and the FFmpeg libraries its wheel bundles add ~30 MB to a process's resident memory,
and demuxing plus decoding frames of an untrusted file is the riskiest thing the intake
does. The web process therefore runs :func:`shared.media.probe.probe_here` in a short-lived
``python -m shared.media.probe`` (about 0.2 s of start-up): a hang is ended by
``PROBE_TIMEOUT``, a crash of the decoder kills the child, not a web worker and its requests.
Images come here too when they must prove ``playable``: a full decode holds every pixel
(up to MAX_IMAGE_PIXELS), which the web process must never allocate.
Limits travel with the request and results and errors come back as JSON, so the answer is the
one an in-process probe gives: the same :class:`MediaInfo`, or the same error with its code.

With ``PROBE_SPARE`` (the default) the next child is started ahead: it loads PyAV and waits on
stdin, so the probe of an upload skips the ~0.1 s start-up (the 201 of a video upload comes that
much sooner). Each child still answers one request and exits; a spare that died, or was started
under another environment than the caller's now, is not used.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from shared.errors import ShowreelError
from shared.media import errors as media_errors
from shared.media.errors import CorruptMedia, MediaTimeout
from shared.media.ffmpeg import _die_with_parent
from shared.media.info import MediaInfo
from shared.media.limits import MediaLimits
from shared.media.sniff import Sniffed

log = logging.getLogger(__name__)

# The folder that holds the ``shared`` package: the child imports it from there.
_ROOT = Path(__file__).resolve().parents[2]
_STDERR_TAIL = 4000


def _start_child() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "shared.media.probe"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=_ROOT, close_fds=True,
                            preexec_fn=_die_with_parent(os.getpid()))  # noqa: PLW1509 - only prctl, no locks


class SpareChild:
    """One probe child started ahead, waiting for its request with PyAV loaded.

    A thread of its own starts it: PR_SET_PDEATHSIG follows the thread that forked the child,
    and the request thread that asked for it may end first.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._ready = threading.Condition(self._lock)
        self._child: subprocess.Popen[bytes] | None = None
        self._environ: dict[str, str] = {}
        self._thread: threading.Thread | None = None

    def take(self) -> subprocess.Popen[bytes] | None:
        """The waiting child if it is alive and has this environment (else None); the next one starts."""
        with self._lock:
            child, environ, self._child = self._child, self._environ, None
        self.warm()
        if child is None or child.poll() is not None or environ != dict(os.environ):
            if child is not None:
                _discard(child)
            return None
        return child

    def warm(self) -> None:
        """Start a spare now if none waits (a web process does at start, so its first upload is quick too)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="probe-spare", daemon=True)
                self._thread.start()
        self._wanted.set()

    def forget(self) -> None:
        """In a forked copy of this process: drop the parent's spare, closing only this copy's pipes to it.

        The spare is the parent's child: this copy can neither wait for it nor may it hold its stdin
        open (the spare would never see end of input). Its own spare starts with its first probe.
        Python runs this in every fork, the pre-exec child of a ``preexec_fn`` subprocess too (cheap there).
        """
        child = self._child
        if child is not None:
            for pipe in (child.stdin, child.stdout, child.stderr):
                if pipe is not None:
                    pipe.close()
        self._reset()  # fresh locks too: another thread may have held them at the fork

    def wait_ready(self, timeout: float) -> subprocess.Popen[bytes] | None:
        """The spare once it has started (for tests and warm-up), None after ``timeout`` seconds."""
        with self._ready:
            self._ready.wait_for(lambda: self._child is not None, timeout=timeout)
            return self._child

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            with self._lock:
                if self._child is not None:
                    continue
            environ = dict(os.environ)
            try:
                child = _start_child()
            except OSError:
                log.warning("could not start a spare probe child", exc_info=True)
                continue
            with self._ready:
                self._child, self._environ = child, environ
                self._ready.notify_all()


def _discard(child: subprocess.Popen[bytes]) -> None:
    child.kill()
    child.communicate()


SPARE = SpareChild()
os.register_at_fork(after_in_child=SPARE.forget)


def probe_in_child(
    path: str | os.PathLike[str], sniffed: Sniffed, limits: MediaLimits, timeout: float, *, playable: bool = False,
    spare: bool = True,
) -> MediaInfo:
    """Return the MediaInfo of the file at ``path``, probed by a child process (``playable``: decoded too;
    ``spare``: by the child started ahead when there is one, and start the next).

    Raises the media errors the probe raises in-process, MediaTimeout after ``timeout``
    seconds, CorruptMedia when the child dies of a signal, RuntimeError when it fails
    otherwise (e.g. PyAV cannot be imported; its traceback is in the message).
    """
    request = json.dumps({"path": os.fspath(path), "sniffed": dataclasses.asdict(sniffed),
                          "limits": dataclasses.asdict(limits), "playable": playable})
    child = (SPARE.take() if spare else None) or _start_child()
    try:
        stdout, stderr = child.communicate(request.encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        _discard(child)
        raise MediaTimeout(f"Probing the {sniffed.kind} took longer than {timeout:g} s") from None
    except BaseException:
        _discard(child)
        raise
    if child.returncode < 0:
        name = signal.Signals(-child.returncode).name
        raise CorruptMedia(f"The {sniffed.kind} could not be read: the probe died of {name}")
    try:
        answer = json.loads(stdout) if child.returncode == 0 else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        tail = stderr.decode(errors="replace")[-_STDERR_TAIL:]
        raise RuntimeError(  # noqa: TRY004 - a failed probe, not a caller's type error; documented above
            f"the media probe exited with status {child.returncode}: {tail or 'no output'}")
    if "error" in answer:
        raise _error_from(answer["error"])
    return MediaInfo.from_dict(answer["info"])


def _error_from(data: dict[str, Any]) -> Exception:
    cls = getattr(media_errors, data.get("type", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, ShowreelError)):
        return RuntimeError(f"the media probe raised an unknown error: {data!r}")
    return cls(data["detail"], code=data["code"], title=data["title"], **data.get("extra", {}))
