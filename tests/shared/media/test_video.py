from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from shared.media.errors import FFmpegFailed, MediaTimeout, ProcessingCanceled
from shared.media.ffmpeg import ffmpeg_path, input_args, job_path, run_ffmpeg
from shared.media.info import MediaInfo, OutputFile
from shared.media.probe import inspect
from shared.media.video import (
    build_poster_args,
    build_preview_args,
    build_webm_args,
    extract_poster,
    make_preview,
    poster_time,
    transcode_webm,
)
from shared.settings import Settings
from tests.shared.media.conftest import SECRET_MARKER, copy_into

REPO_ROOT = Path(__file__).resolve().parents[3]
ENDLESS_INPUT = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25"]


def probe_output(path: str | Path) -> dict[str, object]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        return {
            "container": container.format.name,
            "video_codec": video.codec_context.name,
            "pix_fmt": video.codec_context.pix_fmt,
            "size": (video.codec_context.width, video.codec_context.height),
            "audio_codec": audio.codec_context.name if audio else None,
            "duration": container.duration / av.time_base,
            "metadata": dict(container.metadata),
        }


def gone(pid: int, within: float = 5.0) -> bool:
    """Return whether process ``pid`` has exited (a zombie waiting for its reaper counts) in time."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def wait_for_file(path: Path, within: float = 10.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


@pytest.fixture(scope="session")
def converted(
    tmp_path_factory: pytest.TempPathFactory, mp4_with_audio: Path
) -> tuple[Path, MediaInfo, OutputFile]:
    """The 2 s clip with sound converted once with default settings, shared by the read-only checks."""
    work_dir = tmp_path_factory.mktemp("converted")
    settings = Settings.from_env({})
    src = copy_into(work_dir, mp4_with_audio)
    info = inspect(src, settings)
    return work_dir, info, transcode_webm(src, work_dir, info, settings)


def test_the_webm_is_vp9_in_yuv420p_with_opus_sound(converted: tuple[Path, MediaInfo, OutputFile]) -> None:
    work_dir, _info, output = converted

    found = probe_output(output.path)

    assert (found["container"], found["video_codec"], found["pix_fmt"], found["audio_codec"]) == (
        "matroska,webm",
        "vp9",
        "yuv420p",
        "opus",
    )
    assert found["size"] == (320, 240)
    assert found["duration"] == pytest.approx(2.0, abs=0.1)
    assert (output.name, output.content_type, output.extension) == ("webm", "video/webm", ".webm")
    assert output.path == str(work_dir / "webm.webm")
    assert (output.width, output.height) == (320, 240)
    assert output.duration == pytest.approx(2.0, abs=0.1)
    assert output.size == Path(output.path).stat().st_size


def test_the_webm_drops_the_location_and_other_metadata(
    converted: tuple[Path, MediaInfo, OutputFile],
) -> None:
    _work_dir, _info, output = converted

    assert "location" not in probe_output(output.path)["metadata"]
    assert b"+55.7558" not in Path(output.path).read_bytes()


def test_a_video_without_sound_gives_a_webm_without_an_audio_track(
    mp4_without_audio: Path, work_dir: Path, settings: Settings
) -> None:
    src = copy_into(work_dir, mp4_without_audio)

    output = transcode_webm(src, work_dir, inspect(src, settings), settings)

    assert probe_output(output.path)["audio_codec"] is None


def test_the_webm_is_scaled_down_to_the_maximum_height_with_even_sides(
    mp4_without_audio: Path, work_dir: Path
) -> None:
    settings = Settings.from_env({}, VIDEO_MAX_HEIGHT=101)
    src = copy_into(work_dir, mp4_without_audio)

    output = transcode_webm(src, work_dir, inspect(src, settings), settings)

    width, height = probe_output(output.path)["size"]
    assert height == 100
    assert width % 2 == 0 and abs(width - 320 * 100 / 240) <= 2


def test_a_phone_video_is_converted_upright(mp4_rotated: Path, work_dir: Path, settings: Settings) -> None:
    src = copy_into(work_dir, mp4_rotated)

    output = transcode_webm(src, work_dir, inspect(src, settings), settings)

    assert (output.width, output.height) == (240, 320)


def test_the_quality_mode_picks_the_vp9_deadline(mp4_with_audio: Path, work_dir: Path) -> None:
    src = copy_into(work_dir, mp4_with_audio)
    info = inspect(src, Settings.from_env({}))

    realtime = build_webm_args(src, work_dir, info, Settings.from_env({}))
    good = build_webm_args(src, work_dir, info, Settings.from_env({}, VIDEO_QUALITY_MODE="good"))

    assert (option(realtime, "-deadline"), option(realtime, "-cpu-used")) == ("realtime", "8")
    assert (option(good, "-deadline"), option(good, "-cpu-used")) == ("good", "4")
    for args in (realtime, good):
        assert option(args, "-c:v") == "libvpx-vp9"
        assert option(args, "-pix_fmt") == "yuv420p"
        assert option(args, "-row-mt") == "1"
        assert option(args, "-b:v") == "2M"
        assert option(args, "-c:a") == "libopus"
        assert option(args, "-b:a") == "96k"
        assert option(args, "-threads") == "2"
        assert args[-3:] == ["-f", "webm", "./webm.webm.part"]


def test_ffmpeg_only_sees_relative_paths_inside_the_work_directory(
    mp4_with_audio: Path, work_dir: Path, settings: Settings
) -> None:
    src = copy_into(work_dir, mp4_with_audio)
    info = inspect(src, settings)

    for build in (build_webm_args, build_poster_args, build_preview_args):
        args = build(src, work_dir, info, settings)
        assert args[0] == ffmpeg_path(settings)
        assert not any(arg.startswith("/") for arg in args[1:]), args
        assert option(args, "-i") == "./source.mp4"
        assert option(args, "-f") == "mov"
        assert option(args, "-format_whitelist") == "mov"
        assert option(args, "-protocol_whitelist") == "file"
        assert option(args, "-max_pixels") == str(4096 * 4096)
        # Input options must come before -i to apply to the input.
        assert args.index("-max_pixels") < args.index("-i")


def test_a_path_outside_the_work_directory_is_refused(work_dir: Path, secret_file: Path) -> None:
    (work_dir / "link.mp4").symlink_to(secret_file)

    for path in (secret_file, work_dir / ".." / "escape.mp4", "/etc/passwd", work_dir / "link.mp4", work_dir):
        with pytest.raises(ValueError):
            job_path(path, work_dir)
    assert job_path(work_dir / "a:b.mp4", work_dir) == "./a:b.mp4"


def test_the_poster_is_a_jpeg_taken_with_input_seeking(
    converted: tuple[Path, MediaInfo, OutputFile], settings: Settings
) -> None:
    work_dir, info, _webm = converted
    src = work_dir / "source.mp4"

    args = build_poster_args(src, work_dir, info, settings)
    output = extract_poster(src, work_dir, info, settings)

    assert args.index("-ss") < args.index("-i")
    assert option(args, "-ss") == "1.000"
    assert (output.name, output.content_type, output.extension) == ("poster", "image/jpeg", ".jpg")
    with Image.open(output.path) as poster:
        assert poster.format == "JPEG"
        assert poster.size == (output.width, output.height) == (320, 240)
        shown = poster.convert("RGB")
    frames = {}
    with av.open(str(src)) as container:
        for frame in container.decode(video=0):
            frames[round(frame.time, 2)] = frame.to_image()
    at_poster_time = sum(ImageStat.Stat(ImageChops.difference(shown, frames[1.0])).mean) / 3
    at_start = sum(ImageStat.Stat(ImageChops.difference(shown, frames[0.0])).mean) / 3
    assert at_poster_time < 6
    assert at_start > at_poster_time * 2


@pytest.mark.parametrize(
    ("poster_second", "duration", "expected"),
    [(1.0, 2.0, 1.0), (5.0, 2.0, 1.0), (1.0, 0.5, 0.25), (1.0, None, 0.0)],
)
def test_the_poster_time_stays_inside_the_video(
    poster_second: float, duration: float | None, expected: float
) -> None:
    info = MediaInfo(
        kind="video",
        format="mov",
        content_type="video/mp4",
        extension=".mp4",
        width=2,
        height=2,
        duration=duration,
    )

    assert poster_time(info, Settings.from_env({}, POSTER_SECOND=poster_second)) == expected


def test_a_phone_video_gets_an_upright_poster(mp4_rotated: Path, work_dir: Path, settings: Settings) -> None:
    src = copy_into(work_dir, mp4_rotated)

    output = extract_poster(src, work_dir, inspect(src, settings), settings)

    assert (output.width, output.height) == (240, 320)


def test_the_preview_has_the_configured_length_and_height(mp4_with_audio: Path, work_dir: Path) -> None:
    settings = Settings.from_env({}, PREVIEW_SECONDS=1.0, PREVIEW_HEIGHT=120, PREVIEW_BITRATE="300k")
    src = copy_into(work_dir, mp4_with_audio)
    info = inspect(src, settings)

    args = build_preview_args(src, work_dir, info, settings)
    output = make_preview(src, work_dir, info, settings)

    assert args.index("-t") < args.index("-i")
    assert option(args, "-b:v") == "300k"
    assert (option(args, "-deadline"), option(args, "-cpu-used")) == ("realtime", "8")
    found = probe_output(output.path)
    assert (found["video_codec"], found["pix_fmt"], found["audio_codec"]) == ("vp9", "yuv420p", "opus")
    assert found["size"] == (160, 120)
    assert found["duration"] == pytest.approx(1.0, abs=0.1)
    assert (output.name, output.path, output.duration) == (
        "preview",
        str(work_dir / "preview.webm"),
        pytest.approx(1.0, abs=0.1),
    )


def test_the_preview_is_never_upscaled(mp4_without_audio: Path, work_dir: Path) -> None:
    settings = Settings.from_env({}, PREVIEW_SECONDS=0.5, PREVIEW_HEIGHT=480)
    src = copy_into(work_dir, mp4_without_audio)

    output = make_preview(src, work_dir, inspect(src, settings), settings)

    assert (output.width, output.height) == (320, 240)


def test_a_leftover_part_file_from_a_killed_run_is_overwritten(
    mp4_without_audio: Path, work_dir: Path, settings: Settings
) -> None:
    src = copy_into(work_dir, mp4_without_audio)
    (work_dir / "webm.webm.part").write_bytes(b"half a file")

    output = transcode_webm(src, work_dir, inspect(src, settings), settings)

    assert probe_output(output.path)["video_codec"] == "vp9"
    assert sorted(path.name for path in work_dir.iterdir()) == ["source.mp4", "webm.webm"]


def test_a_conversion_over_the_timeout_is_killed_and_leaves_nothing_behind(
    mp4_with_audio: Path, work_dir: Path
) -> None:
    settings = Settings.from_env({}, FFMPEG_TIMEOUT=0.01)
    src = copy_into(work_dir, mp4_with_audio)
    info = inspect(src, settings)

    with pytest.raises(MediaTimeout) as caught:
        transcode_webm(src, work_dir, info, settings)

    assert caught.value.code == "processing_timeout" and caught.value.transient
    assert gone(caught.value.extra["pid"])
    assert sorted(path.name for path in work_dir.iterdir()) == ["source.mp4"]


def test_a_timeout_kills_ffmpeg(work_dir: Path, settings: Settings) -> None:
    started = time.monotonic()

    with pytest.raises(MediaTimeout):
        run_ffmpeg([ffmpeg_path(settings), *ENDLESS_INPUT, "-f", "null", "-"], cwd=work_dir, timeout=0.5)

    assert 0.5 <= time.monotonic() - started < 3


def test_a_timeout_kills_the_whole_process_group(work_dir: Path) -> None:
    with pytest.raises(MediaTimeout) as caught:
        run_ffmpeg(["sh", "-c", "sleep 60 & echo $! > child.pid; wait"], cwd=work_dir, timeout=0.5)

    assert gone(caught.value.extra["pid"])
    assert gone(int(wait_for_file(work_dir / "child.pid")))


def test_should_stop_cancels_a_running_ffmpeg(work_dir: Path, settings: Settings) -> None:
    stop_at = time.monotonic() + 0.4

    with pytest.raises(ProcessingCanceled) as caught:
        run_ffmpeg(
            [ffmpeg_path(settings), *ENDLESS_INPUT, "-f", "null", "-"],
            cwd=work_dir,
            timeout=30,
            should_stop=lambda: time.monotonic() > stop_at,
        )

    assert caught.value.code == "canceled"
    assert gone(caught.value.extra["pid"])


def test_a_canceled_job_does_not_start_ffmpeg(
    mp4_with_audio: Path, work_dir: Path, settings: Settings
) -> None:
    src = copy_into(work_dir, mp4_with_audio)

    with pytest.raises(ProcessingCanceled):
        make_preview(src, work_dir, inspect(src, settings), settings, should_stop=lambda: True)

    assert sorted(path.name for path in work_dir.iterdir()) == ["source.mp4"]


def test_ffmpeg_dies_when_the_worker_is_killed(work_dir: Path, settings: Settings) -> None:
    # A worker process running ffmpeg (through sh's exec, so the ffmpeg pid lands in a file).
    command = [ffmpeg_path(settings), *ENDLESS_INPUT, "-f", "null", "-"]
    script = (
        "import sys, shlex\n"
        "from shared.media.ffmpeg import run_ffmpeg\n"
        "run_ffmpeg(['sh', '-c', 'echo $$ > ffmpeg.pid; exec ' + shlex.join(sys.argv[2:])],"
        " cwd=sys.argv[1], timeout=60)\n"
    )
    worker = subprocess.Popen([sys.executable, "-c", script, str(work_dir), *command], cwd=REPO_ROOT)
    try:
        ffmpeg_pid = int(wait_for_file(work_dir / "ffmpeg.pid"))
        assert not gone(ffmpeg_pid, within=0.3)

        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=5)

        assert gone(ffmpeg_pid)
    finally:
        worker.kill()
        worker.wait()


def test_a_failing_ffmpeg_reports_the_end_of_its_error_output(
    truncated_mp4: Path, work_dir: Path, settings: Settings
) -> None:
    copy_into(work_dir, truncated_mp4)
    args = [
        ffmpeg_path(settings),
        "-loglevel",
        "error",
        *input_args("./source.mp4", "mov", max_pixels=4096 * 4096),
        "-f",
        "null",
        "-",
    ]

    with pytest.raises(FFmpegFailed) as caught:
        run_ffmpeg(args, cwd=work_dir, timeout=30)

    assert caught.value.code == "transcode_failed"
    assert "moov atom not found" in caught.value.detail


@pytest.mark.parametrize("fixture", ["hls_playlist_as_mp4", "ffconcat_as_mp4"])
def test_a_crafted_playlist_read_as_mov_never_reaches_files_outside(
    fixture: str, work_dir: Path, settings: Settings, request: pytest.FixtureRequest
) -> None:
    copy_into(work_dir, request.getfixturevalue(fixture))
    args = [
        ffmpeg_path(settings),
        "-loglevel",
        "error",
        *input_args("./source.mp4", "mov", max_pixels=4096 * 4096),
        "-c",
        "copy",
        "-f",
        "data",
        "./out.bin",
    ]

    with pytest.raises(FFmpegFailed):
        run_ffmpeg(args, cwd=work_dir, timeout=30)

    out = work_dir / "out.bin"
    assert not out.exists() or SECRET_MARKER not in out.read_bytes()


@pytest.mark.parametrize(
    ("fixture", "demuxer"), [("hls_playlist_as_mp4", "hls"), ("ffconcat_as_mp4", "concat")]
)
def test_the_format_whitelist_refuses_a_playlist_demuxer_even_when_forced(
    fixture: str, demuxer: str, work_dir: Path, settings: Settings, request: pytest.FixtureRequest
) -> None:
    copy_into(work_dir, request.getfixturevalue(fixture))
    args = [
        ffmpeg_path(settings),
        "-loglevel",
        "error",
        "-f",
        demuxer,
        "-format_whitelist",
        "mov",
        "-protocol_whitelist",
        "file",
        "-i",
        "./source.mp4",
        "-c",
        "copy",
        "-f",
        "data",
        "./out.bin",
    ]

    with pytest.raises(FFmpegFailed, match="not on whitelist"):
        run_ffmpeg(args, cwd=work_dir, timeout=30)


def test_input_args_only_know_the_sniffed_video_demuxers() -> None:
    for fmt in ("mov", "matroska", "avi"):
        assert input_args("./x", fmt, max_pixels=4)[:4] == ["-f", fmt, "-format_whitelist", fmt]
    for fmt in ("hls", "concat", "image2", "lavfi", "JPEG"):
        with pytest.raises(ValueError):
            input_args("./x", fmt, max_pixels=4)


def test_frames_over_max_pixels_are_refused_by_the_decoder(
    mp4_without_audio: Path, work_dir: Path, settings: Settings
) -> None:
    copy_into(work_dir, mp4_without_audio)
    args = [
        ffmpeg_path(settings),
        "-loglevel",
        "error",
        *input_args("./source.mp4", "mov", max_pixels=320 * 240 - 1),
        "-f",
        "null",
        "-",
    ]

    with pytest.raises(FFmpegFailed, match="max pixel"):
        run_ffmpeg(args, cwd=work_dir, timeout=30)


def test_ffmpeg_path_prefers_the_configured_binary() -> None:
    assert (
        ffmpeg_path(Settings.from_env({}, FFMPEG_PATH="/opt/ffmpeg/bin/ffmpeg")) == "/opt/ffmpeg/bin/ffmpeg"
    )
    assert Path(ffmpeg_path(Settings.from_env({}))).exists()


def test_ffmpeg_killed_by_a_signal_is_a_transient_interruption_not_bad_input(work_dir: Path) -> None:
    from shared.media.errors import FFmpegInterrupted

    # A stand-in that dies the way the OOM killer ends ffmpeg.
    with pytest.raises(FFmpegInterrupted) as caught:
        run_ffmpeg(["/bin/sh", "-c", "kill -9 $$"], cwd=work_dir, timeout=30)
    assert caught.value.transient and caught.value.code == "transcode_interrupted"


def test_ffmpeg_that_cannot_start_is_a_transient_interruption(work_dir: Path) -> None:
    from shared.media.errors import FFmpegInterrupted

    with pytest.raises(FFmpegInterrupted):
        run_ffmpeg([str(work_dir / "no-such-ffmpeg")], cwd=work_dir, timeout=30)


def test_a_poster_deep_into_a_long_gop_clip_is_its_keyframe_taken_without_decoding_the_gop(
    tmp_path: Path,
) -> None:
    from tests.support.media import h264_mp4

    work_dir = tmp_path / "job"
    work_dir.mkdir()
    # x264's default GOP at 30 fps puts keyframes every 8.33 s: 25.0 and 33.33 s surround 30 s.
    src = h264_mp4(work_dir / "source.mp4", seconds=60, size="160x120", rate=30, audio=False)
    settings = Settings.from_env({}, POSTER_SECOND=30)
    info = inspect(src, settings)

    poster = extract_poster(src, work_dir, info, settings)

    candidates = {}
    with av.open(str(src)) as container:
        for frame in container.decode(video=0):
            if round(frame.time, 2) in (25.0, 30.0, 33.33):
                candidates[round(frame.time, 2)] = frame.to_image()
    with Image.open(poster.path) as image:
        shown = image.convert("RGB")
    distance = {t: sum(ImageStat.Stat(ImageChops.difference(shown, frame)).mean) / 3
                for t, frame in candidates.items()}
    # The first keyframe from 30 s on: one frame decoded, not the 5 s of GOP before the exact time.
    assert min(distance, key=distance.get) == 33.33, distance
