"""Videos are probed in a child process: same answers and errors, no PyAV in the caller."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shared.media.errors import MediaTimeout, VideoTooLong
from shared.media.probe import inspect
from shared.settings import Settings
from tests.support.runtime import wait_for

ROOT = Path(__file__).resolve().parents[3]


def test_a_video_is_probed_without_loading_pyav_into_the_caller(mp4_with_audio: Path) -> None:
    script = ("import json, sys; from shared.media.probe import inspect; "
              "from shared.settings import Settings; "
              f"info = inspect({str(mp4_with_audio)!r}, Settings.from_env({{}})); "
              "print(json.dumps({'info': info.as_dict(), 'av_loaded': 'av' in sys.modules}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["av_loaded"] is False
    info = answer["info"]
    assert info["kind"] == "video" and (info["width"], info["height"]) == (320, 240)


def test_a_limit_error_of_the_child_comes_back_with_its_type_code_and_extras(mp4_with_audio: Path) -> None:
    with pytest.raises(VideoTooLong) as caught:
        inspect(mp4_with_audio, Settings.from_env({}, MAX_VIDEO_DURATION=1.5))

    assert caught.value.code == "video_too_long"
    assert caught.value.extra == {"limit": 1.5}


def test_a_probe_that_takes_too_long_is_stopped(mp4_with_audio: Path) -> None:
    with pytest.raises(MediaTimeout, match="longer than"):
        inspect(mp4_with_audio, Settings.from_env({}, PROBE_TIMEOUT=0.001))


@pytest.fixture
def broken_pyav(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on a child's ``import av`` fails, with a reason to find in the error."""
    broken = tmp_path / "av"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('this PyAV is broken')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))


def test_a_probe_that_cannot_import_pyav_fails_loudly_with_the_reason(mp4_with_audio: Path, broken_pyav: None) -> None:
    with pytest.raises(RuntimeError, match="this PyAV is broken"):
        inspect(mp4_with_audio, Settings.from_env({}))


def _spare(timeout: float = 30) -> subprocess.Popen[bytes]:
    from shared.media.probe_process import SPARE

    child = SPARE.wait_ready(timeout)
    assert child is not None and child.poll() is None, "no spare probe child started"
    return child


def test_a_probe_is_answered_by_the_child_started_ahead_and_the_next_one_waits(mp4_with_audio: Path) -> None:
    settings = Settings.from_env({})
    inspect(mp4_with_audio, settings)
    spare = _spare()

    info = inspect(mp4_with_audio, settings)

    assert (info.width, info.height) == (320, 240)
    assert spare.returncode == 0  # it answered this probe and exited
    assert _spare().pid != spare.pid


def test_a_spare_that_died_is_not_used(mp4_with_audio: Path) -> None:
    inspect(mp4_with_audio, Settings.from_env({}))
    spare = _spare()
    spare.kill()
    spare.wait()

    assert inspect(mp4_with_audio, Settings.from_env({})).kind == "video"


def test_a_spare_started_under_another_environment_is_not_used(
    mp4_with_audio: Path, request: pytest.FixtureRequest
) -> None:
    inspect(mp4_with_audio, Settings.from_env({}))
    spare = _spare()
    request.getfixturevalue("broken_pyav")  # the environment changes after the spare started

    with pytest.raises(RuntimeError, match="this PyAV is broken"):
        inspect(mp4_with_audio, Settings.from_env({}))
    assert spare.returncode is not None  # discarded


def test_without_probe_spare_the_waiting_child_is_left_alone(mp4_with_audio: Path) -> None:
    inspect(mp4_with_audio, Settings.from_env({}))
    spare = _spare()

    inspect(mp4_with_audio, Settings.from_env({}, PROBE_SPARE=False))

    assert spare.poll() is None
    assert _spare().pid == spare.pid


def test_a_forked_process_probes_with_its_own_child_and_leaves_the_parents_spare_alone(mp4_with_audio: Path) -> None:
    settings = Settings.from_env({})
    inspect(mp4_with_audio, settings)
    spare = _spare()

    pid = os.fork()
    if pid == 0:  # the forked copy (as a gunicorn worker of a preloaded app is): it must not wait on the spare
        code = 1
        try:
            code = 0 if inspect(mp4_with_audio, settings).kind == "video" else 1
        finally:
            os._exit(code)

    def reaped() -> tuple[int] | None:
        done, status = os.waitpid(pid, os.WNOHANG)
        return (status,) if done else None

    try:
        (status,) = wait_for(reaped, timeout=30, interval=0.05, message="the forked copy's probe")
    except AssertionError:  # it hangs on the parent's spare
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    assert os.waitstatus_to_exitcode(status) == 0, "the forked copy's probe failed"

    assert spare.poll() is None  # still waiting for this process's next probe
    inspect(mp4_with_audio, settings)
    assert spare.returncode == 0


def test_the_child_answers_and_leaves_without_the_interpreters_teardown(
    mp4_with_audio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The caller waits until the child's output closes: a teardown (unloading PyAV and FFmpeg)
    # was ~20 ms of every probe. An exit handler shows whether the teardown ran.
    marker = tmp_path / "torn-down"
    (tmp_path / "sitecustomize.py").write_text(
        f"import atexit, pathlib\natexit.register(pathlib.Path({str(marker)!r}).touch)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60)
    assert marker.exists(), "the exit handler works in an ordinary process"
    marker.unlink()

    info = inspect(mp4_with_audio, Settings.from_env({}, PROBE_SPARE=False), playable=True)

    assert info.kind == "video" and (info.width, info.height) == (320, 240)
    assert not marker.exists()
