"""Intake: decide what an upload is and whether it is within limits, before decoding it.

:func:`inspect` checks the byte size, sniffs the magic bytes, then parses the
headers with the one decoder the sniffed type allows (Pillow for images, PyAV
for videos) and applies the pixel, size, duration and frame limits to what the
headers announce. Only a single video frame is decoded, unless the caller asks
for ``playable`` media (profile uploads, which are paid for later): then every
pixel of an image and the first and last second of a video are decoded too,
within the limits, in the probe's child process.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import warnings
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from shared.errors import ShowreelError
from shared.media.errors import CorruptMedia, EmptyFile, ImageTooLarge, UnsupportedMedia
from shared.media.ffmpeg import FORMAT_WHITELISTS
from shared.media.info import MediaInfo
from shared.media.limits import MediaLimits
from shared.media.probe_process import probe_in_child
from shared.media.sniff import HEAD_BYTES, Sniffed, sniff
from shared.settings import Settings

if TYPE_CHECKING:
    import av
    from PIL import Image

# Pillow and PyAV (with the FFmpeg libraries its wheel bundles, ~30 MB resident) are imported where
# a file is opened: the web process imports this module for the intake, whose video probe runs in a
# child process (shared.media.probe_process), and so never loads PyAV.

# Packets decoded at most while looking for the first video frame (decoders with delay need a few).
_FIRST_FRAME_PACKETS = 300
# Seconds decoded at each end of a video that must prove playable.
_END_SECONDS = 1.0
# How far before the stream's announced end its last decoded frame may be (one frame, plus timing slack).
_END_SLACK_SECONDS = 0.25


def inspect(path: str | os.PathLike[str], settings: Settings, *, playable: bool = False) -> MediaInfo:
    """Identify and probe the upload at ``path`` within limits; raises the errors of shared.media.errors.

    Images are probed here (Pillow reads the header); videos in a child process that is given
    ``PROBE_TIMEOUT`` seconds (MediaTimeout after that). With ``playable``, the child also decodes
    the whole image (JPEG at its smallest DCT scale) or the video's first and last second, and
    CorruptMedia refuses what does not decode.
    """
    limits = MediaLimits.from_settings(settings)
    size = os.stat(path).st_size
    if size == 0:
        raise EmptyFile()
    # Before the type is known only the larger limit applies; the type's own limit follows the sniff.
    limits.check_bytes("any", size)
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    sniffed = sniff(head)
    limits.check_bytes(sniffed.kind, size)
    if sniffed.kind == "image" and not playable:
        return _inspect_image(path, sniffed, limits)
    return probe_in_child(path, sniffed, limits, settings.PROBE_TIMEOUT, playable=playable,
                          spare=settings.PROBE_SPARE)


def probe_here(path: str | os.PathLike[str], sniffed: Sniffed, limits: MediaLimits, *, playable: bool) -> MediaInfo:
    """Probe in this process: the child's side of :func:`inspect`."""
    if sniffed.kind != "image":
        return _inspect_video(path, sniffed, limits, playable=playable)
    info = _inspect_image(path, sniffed, limits)
    if playable:
        _decode_image(path, sniffed.format, limits)
    return info


def open_image(path: str | os.PathLike[str], fmt: str, limits: MediaLimits) -> Image.Image:
    """Open (headers only) an image with the one Pillow plugin ``fmt``; raises ImageTooLarge, CorruptMedia."""
    from PIL import Image

    _refuse_decompression_bombs(limits.image_pixels)
    try:
        image = Image.open(path, formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(str(exc), limit=limits.image_pixels) from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, IndexError, struct.error, ...
        raise CorruptMedia(f"The file is not a readable {fmt} image: {_without_path(exc, path)}") from None
    try:
        limits.check_image(*image.size)
    except ShowreelError:
        image.close()
        raise
    return image


def exif_orientation(image: Image.Image) -> int:
    """Return the EXIF orientation 1-8 of an opened image, 1 when absent or unreadable."""
    from PIL import ExifTags

    try:
        value = image.getexif().get(ExifTags.Base.Orientation)
    except Exception:  # noqa: BLE001 - a broken EXIF block should not reject an otherwise good picture
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _without_path(exc: BaseException, path: str | os.PathLike[str]) -> str:
    """The decoder's message without the file's server path (Pillow and PyAV quote it; clients see this)."""
    where = os.fspath(path)
    return str(exc).replace(f"'{where}'", "the file").replace(where, "the file")


def _refuse_decompression_bombs(limit: int) -> None:
    # Pillow's bomb guard is process-wide: make it follow MAX_IMAGE_PIXELS (settings are process-wide
    # too) and turn its warning into an error. A filter is added only when missing, because
    # warnings.catch_warnings() is not thread-safe and test runners reset the filters between tests.
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = limit
    for action, message, category, module, _lineno in warnings.filters:
        # The first filter that catches every DecompressionBombWarning is the one that applies.
        if issubclass(Image.DecompressionBombWarning, category) and message is None and module is None:
            if action == "error":
                return
            break
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def _inspect_image(path: str | os.PathLike[str], sniffed: Sniffed, limits: MediaLimits) -> MediaInfo:
    with open_image(path, sniffed.format, limits) as image:
        width, height = image.size
        orientation = exif_orientation(image)
    if orientation >= 5:
        # Orientations 5-8 turn the picture a quarter: report what a viewer displays.
        width, height = height, width
    return MediaInfo(
        kind="image",
        format=sniffed.format,
        content_type=sniffed.content_type,
        extension=sniffed.extension,
        width=width,
        height=height,
        orientation=orientation,
    )


def _decode_image(path: str | os.PathLike[str], fmt: str, limits: MediaLimits) -> None:
    """Decode every pixel once; raises CorruptMedia when the data behind the header does not decode."""
    with open_image(path, fmt, limits) as image:
        try:
            # JPEG at 1/8 scale: every block is still entropy-decoded, at a 64th of the pixels.
            image.draft("RGB", (1, 1))
            image.load()
        except ShowreelError:
            raise
        except Exception as exc:  # noqa: BLE001 - truncated data, broken zlib streams, bad Huffman tables, ...
            raise CorruptMedia(f"The image could not be decoded: {_without_path(exc, path)}") from None


def open_video(path: str | os.PathLike[str], fmt: str, limits: MediaLimits) -> av.container.InputContainer:
    """Open a video with the one demuxer ``fmt``, whitelisted, local files only; raises CorruptMedia."""
    import av

    try:
        return av.open(
            os.fspath(path),
            format=fmt,
            container_options={"format_whitelist": FORMAT_WHITELISTS[fmt], "protocol_whitelist": "file"},
            # Reaches the decoders avformat_find_stream_info opens: no oversized frame is decoded there.
            options={"max_pixels": str(limits.video_pixels)},
        )
    except Exception as exc:  # noqa: BLE001 - PyAV raises FFmpegError subclasses, ValueError, OSError, ...
        raise CorruptMedia(f"The file is not a readable video: {_without_path(exc, path)}") from None


def _inspect_video(
    path: str | os.PathLike[str], sniffed: Sniffed, limits: MediaLimits, *, playable: bool = False
) -> MediaInfo:
    with open_video(path, sniffed.format, limits) as container:
        try:
            return _probe_video(path, container, sniffed, limits, playable=playable)
        except ShowreelError:
            raise
        except Exception as exc:  # noqa: BLE001 - any decoder error means corrupt media
            raise CorruptMedia(f"The video could not be read: {_without_path(exc, path)}") from None


def _probe_video(
    path: str | os.PathLike[str],
    container: av.container.InputContainer,
    sniffed: Sniffed,
    limits: MediaLimits,
    *,
    playable: bool = False,
) -> MediaInfo:
    stream = _main_video_stream(container)
    if stream is None:
        if container.streams.audio:
            raise UnsupportedMedia("The file holds only audio; a video is required")
        raise CorruptMedia("The file holds no video stream")
    if stream.codec_context is None:
        raise UnsupportedMedia("The video codec is not supported")
    width, height = stream.codec_context.width, stream.codec_context.height
    if width <= 0 or height <= 0:
        raise CorruptMedia("The video announces no frame size")
    limits.check_video_size(width, height)

    duration = _duration(container, stream)
    frames = stream.frames or None
    if duration is None:
        # No duration in the headers (e.g. a browser-recorded WebM): measure it from packet timestamps.
        duration, frames = _measure(path, sniffed.format, stream.index, limits)
    if frames is None:
        rate = stream.average_rate or stream.guessed_rate
        frames = round(duration * rate) if rate else None
    limits.check_video_length(duration, frames)

    frame = _first_frame(container, stream, limits)
    if playable:
        _decode_first_second(container, stream, frame)
        _decode_last_second(container, stream, duration)
    if abs(frame.rotation) % 180 == 90:
        # Phones store portrait video as landscape plus a display rotation; report what is displayed.
        width, height = height, width
    audio = container.streams.audio
    return MediaInfo(
        kind="video",
        format=sniffed.format,
        content_type=sniffed.content_type,
        extension=sniffed.extension,
        width=width,
        height=height,
        duration=duration,
        codec=stream.codec_context.name,
        frames=frames,
        has_audio=bool(audio) and audio[0].codec_context is not None,
    )


def _main_video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    import av

    for stream in container.streams.video:
        # Cover art in audio files shows up as a one-picture "video" stream.
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    import av

    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if stream.duration is not None and stream.duration > 0 and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def _measure(path: str | os.PathLike[str], fmt: str, index: int, limits: MediaLimits) -> tuple[float, int]:
    """Demux (without decoding) the video stream to find its length; stop as soon as a limit is passed."""
    with open_video(path, fmt, limits) as container:
        stream = container.streams[index]
        time_base: Fraction = stream.time_base or Fraction(1, 1000)
        start: int | None = None
        end = 0
        frames = 0
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            frames += 1
            start = packet.pts if start is None else min(start, packet.pts)
            end = max(end, packet.pts + (packet.duration or 0))
            if frames % 256 == 0:
                limits.check_video_length(float((end - start) * time_base), frames)
        if start is None:
            raise CorruptMedia("The video holds no frames")
        return float((end - start) * time_base), frames


def _first_frame(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    limits: MediaLimits,
) -> av.VideoFrame:
    """Decode the first video frame, which proves the stream decodes and carries the display rotation."""
    context = stream.codec_context
    # The bitstream may announce a bigger frame than the container did; the decoder enforces the cap.
    context.options = {"max_pixels": str(limits.video_pixels)}
    # One thread: frame threading would make the decoder buffer several frames before returning one.
    context.thread_count = 1
    for packets, packet in enumerate(container.demux(stream), start=1):
        for frame in packet.decode():
            return frame
        if packets >= _FIRST_FRAME_PACKETS:
            break
    raise CorruptMedia("No frame of the video could be decoded")


def _decode_first_second(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, first: av.VideoFrame
) -> None:
    """Go on decoding after the first frame until one second of the video has decoded."""
    if first.time is None:
        return
    for packet in container.demux(stream):
        for frame in packet.decode():
            if frame.time is not None and frame.time >= first.time + _END_SECONDS:
                return


def _decode_last_second(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, duration: float
) -> None:
    """Decode the last second up to the stream's end; raises CorruptMedia when the decoding stops short.

    An MP4 cut short still announces, in its index, samples past the end of the file: it demuxes to an
    early end of file, or fails on the cut packet. Without a stream length (Matroska) the end is the
    last packet the file holds, so only the decoding of the last second is checked there.
    """
    time_base = stream.time_base or Fraction(1, 1000)
    start = float((stream.start_time or 0) * time_base)
    announced = start + float(stream.duration * time_base) if stream.duration else None
    target = (announced if announced is not None else start + duration) - _END_SECONDS
    with contextlib.suppress(Exception):  # no index (some AVI, WebM without cues): read on from here
        container.seek(max(0, int(target / time_base)), stream=stream, backward=True)
    last_frame: float | None = None
    last_packet = start
    for packet in container.demux(stream):
        if packet.pts is not None:
            last_packet = max(last_packet, float((packet.pts + (packet.duration or 0)) * time_base))
        for frame in packet.decode():
            if frame.time is not None:
                last_frame = frame.time if last_frame is None else max(last_frame, frame.time)
    end = announced if announced is not None else last_packet
    rate = stream.average_rate or stream.guessed_rate
    slack = _END_SLACK_SECONDS + (float(1 / rate) if rate else 0.0)
    if last_frame is None or last_frame < end - slack:
        reached = "no frame" if last_frame is None else f"frames up to {last_frame - start:.2f} s"
        raise CorruptMedia(f"The end of the video does not decode: {reached} of {end - start:.2f} s")


def _child() -> int:
    """Answer one probe request of :func:`shared.media.probe_process.probe_in_child` (stdin to stdout).

    PyAV and Pillow are loaded before the request is read: a spare child waits with them loaded.
    A PyAV that fails to import fails the probe of a video below, with its reason, not of an image.
    """
    for module in ("av", "PIL.Image"):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    request = json.load(sys.stdin)
    sniffed = Sniffed(**request["sniffed"])
    limits = MediaLimits(**request["limits"])
    try:
        info = probe_here(request["path"], sniffed, limits, playable=request.get("playable", False))
        answer: dict[str, Any] = {"info": info.as_dict()}
    except ShowreelError as exc:
        answer = {"error": {"type": type(exc).__name__, "detail": exc.detail, "code": exc.code,
                            "title": exc.title, "extra": exc.extra}}
    json.dump(answer, sys.stdout, default=str)
    return 0


# The child side of probe_process: `python -m shared.media.probe` reads one request from stdin.
if __name__ == "__main__":
    status = _child()
    # The answer is out: leave without the interpreter's teardown. The caller reads until the
    # child's output closes, and unloading PyAV and FFmpeg took ~20 ms of each probe's 35
    # (docs/PROFILES.md, "The way in"). Nothing here holds what a teardown would have to save.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
