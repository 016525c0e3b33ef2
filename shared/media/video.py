"""Video outputs: the VP9/Opus WebM, the poster frame and the short preview clip.

Each output has a ``build_*_args`` function returning the exact ffmpeg command
(binary first, paths relative to the work directory) so that benchmarks and
operators can run the very same command by hand, and a function that runs it
through :func:`shared.media.ffmpeg.run_ffmpeg` and describes the result.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from shared.media.errors import FFmpegFailed
from shared.media.ffmpeg import GLOBAL_ARGS, ffmpeg_path, input_args, job_path, run_ffmpeg
from shared.media.info import MediaInfo, OutputFile
from shared.media.limits import MediaLimits
from shared.settings import Settings

WEBM_FILE = "webm.webm"
POSTER_FILE = "poster.jpg"
PREVIEW_FILE = "preview.webm"

# VIDEO_QUALITY_MODE -> libvpx deadline and cpu-used (REFERENCE: 10 s of 720p, 2.45 s vs 11.3 s).
_VP9_SPEED = {"realtime": ("realtime", 8), "good": ("good", 4)}
_PREVIEW_SPEED = ("realtime", 8)

StopCheck = Callable[[], bool]


# fmt: off
# ffmpeg arguments stay in option/value pairs, one pair a line, so the commands read like a shell line.
def build_webm_args(
    src: str | os.PathLike[str], work_dir: str | os.PathLike[str], info: MediaInfo, settings: Settings
) -> list[str]:
    """Return the ffmpeg command converting ``src`` to VP9/Opus WebM at ``webm.webm.part``."""
    deadline, cpu_used = _VP9_SPEED[settings.VIDEO_QUALITY_MODE]
    return [
        *_head(settings),
        *input_args(job_path(src, work_dir), info.format, max_pixels=_max_pixels(settings)),
        *_streams(info),
        "-vf", _scale_filter(settings.VIDEO_MAX_HEIGHT),
        *_vp9(settings.VIDEO_BITRATE, deadline, cpu_used, settings.FFMPEG_THREADS),
        *_opus(info, settings),
        *_no_metadata(),
        "-f", "webm", _part(WEBM_FILE),
    ]


def build_poster_args(
    src: str | os.PathLike[str], work_dir: str | os.PathLike[str], info: MediaInfo, settings: Settings
) -> list[str]:
    """Return the ffmpeg command writing one JPEG frame of ``src`` at ``poster.jpg.part``."""
    return [
        *_head(settings),
        # Before -i: the demuxer seeks to the keyframe before this time instead of decoding up to it.
        "-ss", f"{poster_time(info, settings):.3f}",
        *input_args(job_path(src, work_dir), info.format, max_pixels=_max_pixels(settings)),
        "-map", "0:V:0",
        "-frames:v", "1",
        "-vf", _scale_filter(settings.VIDEO_MAX_HEIGHT),
        "-c:v", "mjpeg",
        "-q:v", str(_mjpeg_qscale(settings.JPEG_QUALITY)),
        *_no_metadata(),
        # One picture into a fixed name (the image2 muxer otherwise wants a %d pattern).
        "-update", "1",
        "-f", "image2", _part(POSTER_FILE),
    ]


def build_preview_args(
    src: str | os.PathLike[str], work_dir: str | os.PathLike[str], info: MediaInfo, settings: Settings
) -> list[str]:
    """Return the ffmpeg command writing the first PREVIEW_SECONDS of ``src`` at ``preview.webm.part``."""
    deadline, cpu_used = _PREVIEW_SPEED
    return [
        *_head(settings),
        # An input -t stops reading the source there, rather than decoding it all and dropping frames.
        "-t", f"{settings.PREVIEW_SECONDS:g}",
        *input_args(job_path(src, work_dir), info.format, max_pixels=_max_pixels(settings)),
        *_streams(info),
        "-vf", _scale_filter(settings.PREVIEW_HEIGHT),
        *_vp9(settings.PREVIEW_BITRATE, deadline, cpu_used, settings.FFMPEG_THREADS),
        *_opus(info, settings),
        *_no_metadata(),
        "-f", "webm", _part(PREVIEW_FILE),
    ]
# fmt: on


def transcode_webm(
    src: str | os.PathLike[str],
    work_dir: str | os.PathLike[str],
    info: MediaInfo,
    settings: Settings,
    should_stop: StopCheck | None = None,
) -> OutputFile:
    """Convert ``src`` (inside ``work_dir``) to ``webm.webm``.

    Raises MediaTimeout, ProcessingCanceled, FFmpegFailed.
    """
    path = _run(build_webm_args(src, work_dir, info, settings), work_dir, WEBM_FILE, settings, should_stop)
    return _describe_video(path, "webm")


def extract_poster(
    src: str | os.PathLike[str],
    work_dir: str | os.PathLike[str],
    info: MediaInfo,
    settings: Settings,
    should_stop: StopCheck | None = None,
) -> OutputFile:
    """Write the poster frame of ``src`` (inside ``work_dir``) to ``poster.jpg``.

    Raises MediaTimeout, ProcessingCanceled, FFmpegFailed.
    """
    args = build_poster_args(src, work_dir, info, settings)
    try:
        path = _run(_keyframe_only(args), work_dir, POSTER_FILE, settings, should_stop)
    except FFmpegFailed:
        # No keyframe follows the time (the last GOP of a clip): take the exact frame,
        # decoding up to it.
        path = _run(args, work_dir, POSTER_FILE, settings, should_stop)
    from PIL import Image  # imported on use: the web process imports this module but makes no posters

    with Image.open(path, formats=["JPEG"]) as image:
        width, height = image.size
    return OutputFile(
        name="poster",
        path=str(path),
        content_type="image/jpeg",
        extension=".jpg",
        size=path.stat().st_size,
        width=width,
        height=height,
    )


def make_preview(
    src: str | os.PathLike[str],
    work_dir: str | os.PathLike[str],
    info: MediaInfo,
    settings: Settings,
    should_stop: StopCheck | None = None,
) -> OutputFile:
    """Write the preview clip of ``src`` (inside ``work_dir``) to ``preview.webm``.

    Raises MediaTimeout, ProcessingCanceled, FFmpegFailed.
    """
    path = _run(
        build_preview_args(src, work_dir, info, settings), work_dir, PREVIEW_FILE, settings, should_stop
    )
    return _describe_video(path, "preview")


def poster_time(info: MediaInfo, settings: Settings) -> float:
    """Return where the poster is taken: POSTER_SECOND, but never past the middle of the video."""
    if not info.duration or info.duration <= 0:
        return 0.0
    return max(0.0, min(settings.POSTER_SECOND, info.duration / 2))


def _head(settings: Settings) -> list[str]:
    threads = str(settings.FFMPEG_THREADS)
    # -threads before the input bounds the decoder; the filter graph gets the same budget.
    return [ffmpeg_path(settings), *GLOBAL_ARGS, "-filter_threads", threads, "-threads", threads]


def _max_pixels(settings: Settings) -> int:
    return MediaLimits.from_settings(settings).video_pixels


def _streams(info: MediaInfo) -> list[str]:
    # "V" skips cover-art pictures; only the first real video stream and first audio stream are kept.
    return ["-map", "0:V:0", *(["-map", "0:a:0"] if info.has_audio else [])]


def _scale_filter(max_height: int) -> str:
    # Down to max_height but never up; both sides even (yuv420p). Runs after ffmpeg's autorotation,
    # so "height" is the displayed height of phone videos too.
    return f"scale=w=-2:h=trunc(min(ih\\,{int(max_height)})/2)*2"


# fmt: off
def _vp9(bitrate: str, deadline: str, cpu_used: int, threads: int) -> list[str]:
    return [
        "-c:v", "libvpx-vp9",
        # Browsers play profile 0 only: 8-bit 4:2:0, whatever the source was.
        "-pix_fmt", "yuv420p",
        "-b:v", bitrate,
        "-deadline", deadline,
        "-cpu-used", str(cpu_used),
        "-row-mt", "1",
        "-threads", str(threads),
    ]
# fmt: on


def _opus(info: MediaInfo, settings: Settings) -> list[str]:
    if not info.has_audio:
        return ["-an"]
    return ["-c:a", "libopus", "-b:a", settings.AUDIO_BITRATE]


def _no_metadata() -> list[str]:
    # Phone videos carry GPS coordinates and device names in container metadata.
    return ["-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn"]


def _mjpeg_qscale(jpeg_quality: int) -> int:
    """Map a 1-100 JPEG quality to ffmpeg's MJPEG qscale 2-31 (lower is better; 85 gives 3)."""
    return max(2, min(31, round((100 - jpeg_quality) / 5)))


def _part(name: str) -> str:
    return f"./{name}.part"


def _keyframe_only(args: list[str]) -> list[str]:
    """The poster command made cheap: only keyframes are decoded, so the poster is the first
    keyframe from the poster time on and costs one frame wherever the time falls (an exact seek
    decodes the GOP up to it: ~5x slower on long-GOP sources). JPEG is full-range, said explicitly."""
    at = args.index("-ss")
    codec = args.index("-c:v")
    return [*args[:at], "-noaccurate_seek", "-skip_frame", "nokey", *args[at:codec],
            "-pix_fmt", "yuvj420p", *args[codec:]]


def _run(
    args: list[str],
    work_dir: str | os.PathLike[str],
    name: str,
    settings: Settings,
    should_stop: StopCheck | None,
) -> Path:
    """Run ``args`` and move the finished ``<name>.part`` into place: a half file never has the final name."""
    final = Path(work_dir, name)
    part = Path(work_dir, name + ".part")
    try:
        run_ffmpeg(args, cwd=work_dir, timeout=settings.FFMPEG_TIMEOUT, should_stop=should_stop)
        if not part.exists() or part.stat().st_size == 0:
            raise FFmpegFailed(f"ffmpeg finished without writing {name}")
        os.replace(part, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    return final


def _describe_video(path: Path, name: str) -> OutputFile:
    """Describe a WebM we just wrote: its size, frame size and duration."""
    import av  # ~30 MB resident: loaded by the workers that transcode, never by the web process

    try:
        with av.open(str(path), format="matroska") as container:
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            duration = container.duration / av.time_base if container.duration else None
    except (av.FFmpegError, IndexError) as exc:
        raise FFmpegFailed(f"ffmpeg wrote an unreadable {path.name}: {exc}") from None
    return OutputFile(
        name=name,
        path=str(path),
        content_type="video/webm",
        extension=".webm",
        size=path.stat().st_size,
        width=width,
        height=height,
        duration=duration,
    )
