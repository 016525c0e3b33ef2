"""Videos are probed in a child process: same answers and errors, no PyAV in the caller."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.media.errors import MediaTimeout, VideoTooLong
from shared.media.probe import inspect
from shared.settings import Settings

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


def test_a_probe_that_cannot_import_pyav_fails_loudly_with_the_reason(
    mp4_with_audio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "av"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('this PyAV is broken')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))

    with pytest.raises(RuntimeError, match="this PyAV is broken"):
        inspect(mp4_with_audio, Settings.from_env({}))
