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
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from shared.errors import ShowreelError
from shared.media import errors as media_errors
from shared.media.errors import CorruptMedia, MediaTimeout
from shared.media.ffmpeg import _die_with_parent
from shared.media.info import MediaInfo
from shared.media.limits import MediaLimits
from shared.media.sniff import Sniffed

# The folder that holds the ``shared`` package: the child imports it from there.
_ROOT = Path(__file__).resolve().parents[2]
_STDERR_TAIL = 4000


def probe_in_child(
    path: str | os.PathLike[str], sniffed: Sniffed, limits: MediaLimits, timeout: float, *, playable: bool = False
) -> MediaInfo:
    """Return the MediaInfo of the file at ``path``, probed by a child process (``playable``: decoded too).

    Raises the media errors the probe raises in-process, MediaTimeout after ``timeout``
    seconds, CorruptMedia when the child dies of a signal, RuntimeError when it fails
    otherwise (e.g. PyAV cannot be imported; its traceback is in the message).
    """
    request = json.dumps({"path": os.fspath(path), "sniffed": dataclasses.asdict(sniffed),
                          "limits": dataclasses.asdict(limits), "playable": playable})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "shared.media.probe"], input=request.encode(), capture_output=True,
            cwd=_ROOT, timeout=timeout, close_fds=True, preexec_fn=_die_with_parent(os.getpid()), check=False,
        )
    except subprocess.TimeoutExpired:
        raise MediaTimeout(f"Probing the {sniffed.kind} took longer than {timeout:g} s") from None
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        raise CorruptMedia(f"The {sniffed.kind} could not be read: the probe died of {name}")
    try:
        answer = json.loads(done.stdout) if done.returncode == 0 else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        stderr = done.stderr.decode(errors="replace")[-_STDERR_TAIL:]
        raise RuntimeError(  # noqa: TRY004 - a failed probe, not a caller's type error; documented above
            f"the media probe exited with status {done.returncode}: {stderr or 'no output'}")
    if "error" in answer:
        raise _error_from(answer["error"])
    return MediaInfo.from_dict(answer["info"])


def _error_from(data: dict[str, Any]) -> Exception:
    cls = getattr(media_errors, data.get("type", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, ShowreelError)):
        return RuntimeError(f"the media probe raised an unknown error: {data!r}")
    return cls(data["detail"], code=data["code"], title=data["title"], **data.get("extra", {}))
