"""One known ffmpeg: FFMPEG_PATH, else the bundled binary, else a new enough one on PATH."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from shared.media import ffmpeg
from shared.media.errors import FFmpegInterrupted
from shared.media.ffmpeg import ffmpeg_path
from shared.settings import Settings
from tests.shared.media.conftest import run_ffmpeg_cli

# What Debian 12's ffmpeg does: reports 5.1 and refuses the options it does not know.
DEBIAN_FFMPEG = """#!/bin/sh
if [ "$1" = "-version" ]; then echo "ffmpeg version {version} Copyright (c) 2000-2025 the FFmpeg developers"; exit 0; fi
echo "Unrecognized option 'display_rotation:v:0'." >&2
exit 8
"""


@pytest.fixture
def fresh_resolver() -> Iterator[None]:
    """Forget the ffmpeg this process resolved, before and after the test."""
    forget = getattr(ffmpeg, "_default_ffmpeg", None)  # absent where nothing is cached
    if forget is not None:
        forget.cache_clear()
    yield
    if forget is not None:
        forget.cache_clear()


def fake_ffmpeg_first_on_path(folder: Path, monkeypatch: pytest.MonkeyPatch, version: str) -> Path:
    folder.mkdir(exist_ok=True)
    fake = folder / "ffmpeg"
    fake.write_text(DEBIAN_FFMPEG.format(version=version))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return fake


def test_an_old_system_ffmpeg_first_on_path_is_not_chosen_over_the_bundled_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_resolver: None
) -> None:
    fake = fake_ffmpeg_first_on_path(tmp_path / "bin", monkeypatch, "5.1.6-0+deb12u1")

    chosen = ffmpeg_path(Settings.from_env({}))

    assert chosen != str(fake)
    assert chosen == ffmpeg._bundled_ffmpeg()
    assert ffmpeg.ffmpeg_version(chosen) >= ffmpeg.MIN_FFMPEG_VERSION


def test_the_display_rotation_fixture_builds_with_an_old_ffmpeg_first_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_resolver: None, mp4_without_audio: Path
) -> None:
    # What `make test` did on a machine with Debian's ffmpeg: the phone-video fixtures errored.
    fake_ffmpeg_first_on_path(tmp_path / "bin", monkeypatch, "5.1.6-0+deb12u1")

    run_ffmpeg_cli(f"-display_rotation:v:0 90 -i {mp4_without_audio} -c copy portrait.mp4", cwd=tmp_path)

    with av.open(str(tmp_path / "portrait.mp4")) as container:
        frame = next(container.decode(video=0))
    assert abs(frame.rotation) == 90


@pytest.mark.parametrize("version", ["5.1.6-0+deb12u1", "6.1.1-3ubuntu5", "N-112233-gabcdef0"])
def test_without_the_bundled_binary_an_old_or_unknown_system_ffmpeg_is_refused_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_resolver: None, version: str
) -> None:
    fake = fake_ffmpeg_first_on_path(tmp_path / "bin", monkeypatch, version)
    monkeypatch.setattr(ffmpeg, "_bundled_ffmpeg", lambda: None)

    with pytest.raises(FFmpegInterrupted, match="needs 7.0 or newer") as caught:
        ffmpeg_path(Settings.from_env({}))
    assert str(fake) in caught.value.detail and "FFMPEG_PATH" in caught.value.detail


def test_without_the_bundled_binary_a_new_enough_system_ffmpeg_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_resolver: None
) -> None:
    fake = fake_ffmpeg_first_on_path(tmp_path / "bin", monkeypatch, "7.1.1-1+b1")
    monkeypatch.setattr(ffmpeg, "_bundled_ffmpeg", lambda: None)

    assert ffmpeg_path(Settings.from_env({})) == str(fake)


def test_without_any_ffmpeg_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_resolver: None
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(ffmpeg, "_bundled_ffmpeg", lambda: None)

    with pytest.raises(FFmpegInterrupted, match="7.0 or newer"):
        ffmpeg_path(Settings.from_env({}))


def test_ffmpeg_path_is_taken_as_set_whatever_its_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_resolver: None
) -> None:
    fake = fake_ffmpeg_first_on_path(tmp_path / "bin", monkeypatch, "5.1.6-0+deb12u1")

    assert ffmpeg_path(Settings.from_env({}, FFMPEG_PATH=str(fake))) == str(fake)
