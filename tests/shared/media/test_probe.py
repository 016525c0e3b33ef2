from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest

from shared.errors import PermanentError, TransientError
from shared.media import errors
from shared.media.errors import (
    CorruptMedia,
    EmptyFile,
    FileTooLarge,
    ImageTooLarge,
    UnsupportedMedia,
    VideoTooLarge,
    VideoTooLong,
)
from shared.media.limits import MediaLimits
from shared.media.probe import inspect
from shared.settings import Settings


@pytest.mark.parametrize(
    ("error", "code", "transient"),
    [
        (errors.EmptyFile, "empty_file", False),
        (errors.FileTooLarge, "file_too_large", False),
        (errors.UnsupportedMedia, "unsupported_media_type", False),
        (errors.CorruptMedia, "corrupt_media", False),
        (errors.ImageTooLarge, "image_too_large", False),
        (errors.VideoTooLarge, "video_too_large", False),
        (errors.VideoTooLong, "video_too_long", False),
        (errors.MediaTimeout, "processing_timeout", True),
        (errors.ProcessingCanceled, "canceled", False),
        (errors.FFmpegFailed, "transcode_failed", False),
    ],
)
def test_media_errors_carry_stable_codes_and_say_whether_to_retry(
    error: type[Exception], code: str, transient: bool
) -> None:
    raised = error("detail")

    assert raised.code == code
    assert isinstance(raised, TransientError if transient else PermanentError)
    assert raised.as_dict() == {"code": code, "message": "detail"}


def test_a_jpeg_reports_its_displayed_orientation(jpeg_rotated: Path, settings: Settings) -> None:
    info = inspect(jpeg_rotated, settings)

    assert (info.kind, info.format, info.content_type, info.extension) == (
        "image",
        "JPEG",
        "image/jpeg",
        ".jpg",
    )
    # Stored 400x300, EXIF orientation 6: a viewer shows it 300 wide and 400 high.
    assert (info.width, info.height, info.orientation) == (300, 400, 6)
    assert info.duration is None and info.codec is None and not info.has_audio


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("png_alpha", ("PNG", "image/png", ".png", 120, 80)),
        ("gif_animated", ("GIF", "image/gif", ".gif", 60, 40)),
        ("webp_image", ("WEBP", "image/webp", ".webp", 200, 100)),
    ],
)
def test_other_images_are_probed_from_their_headers(
    fixture: str, expected: tuple, settings: Settings, request: pytest.FixtureRequest
) -> None:
    info = inspect(request.getfixturevalue(fixture), settings)

    assert (info.format, info.content_type, info.extension, info.width, info.height) == expected
    assert info.orientation == 1


def test_a_video_reports_size_length_codec_frames_and_audio(mp4_with_audio: Path, settings: Settings) -> None:
    info = inspect(mp4_with_audio, settings)

    assert info.as_dict() == {
        "kind": "video",
        "format": "mov",
        "content_type": "video/mp4",
        "extension": ".mp4",
        "width": 320,
        "height": 240,
        "duration": pytest.approx(2.0, abs=0.1),
        "codec": "h264",
        "frames": 50,
        "has_audio": True,
        "orientation": None,
    }


def test_a_video_without_sound_says_so(mp4_without_audio: Path, settings: Settings) -> None:
    assert inspect(mp4_without_audio, settings).has_audio is False


def test_a_phone_video_reports_its_displayed_portrait_size(mp4_rotated: Path, settings: Settings) -> None:
    info = inspect(mp4_rotated, settings)

    assert (info.width, info.height) == (240, 320)


def test_a_recorded_webm_without_duration_is_measured_from_its_packets(
    webm_without_duration: Path, settings: Settings
) -> None:
    info = inspect(webm_without_duration, settings)

    assert (info.format, info.content_type, info.codec) == ("matroska", "video/webm", "vp9")
    assert info.duration == pytest.approx(1.0, abs=0.1)
    assert info.frames == 25


def test_a_recorded_webm_without_duration_still_meets_the_duration_limit(
    webm_without_duration: Path,
) -> None:
    with pytest.raises(VideoTooLong):
        inspect(webm_without_duration, Settings.from_env({}, MAX_VIDEO_DURATION=0.5))


def test_an_mp4_with_only_audio_is_refused_with_a_clear_message(
    m4a_audio_only: Path, settings: Settings
) -> None:
    with pytest.raises(UnsupportedMedia, match="only audio"):
        inspect(m4a_audio_only, settings)


def test_an_empty_upload_is_refused(empty_file: Path, settings: Settings) -> None:
    with pytest.raises(EmptyFile):
        inspect(empty_file, settings)


@pytest.mark.parametrize(
    "fixture", ["text_as_jpg", "html_as_png", "random_as_mov", "hls_playlist_as_mp4", "ffconcat_as_mp4"]
)
def test_files_that_are_not_media_are_refused_whatever_their_name(
    fixture: str, settings: Settings, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(UnsupportedMedia):
        inspect(request.getfixturevalue(fixture), settings)


def test_a_png_claiming_900_megapixels_is_refused_from_its_header(png_bomb: Path, settings: Settings) -> None:
    started = time.monotonic()

    # The file holds no pixel data at all: any decode attempt would be a CorruptMedia instead.
    with pytest.raises(ImageTooLarge) as caught:
        inspect(png_bomb, settings)

    assert caught.value.code == "image_too_large"
    assert time.monotonic() - started < 1


def test_an_image_over_the_configured_pixel_limit_is_refused(jpeg_rotated: Path) -> None:
    with pytest.raises(ImageTooLarge, match="pixels"):
        inspect(jpeg_rotated, Settings.from_env({}, MAX_IMAGE_PIXELS=100_000))


def test_an_image_with_a_side_over_the_limit_is_refused(jpeg_rotated: Path) -> None:
    with pytest.raises(ImageTooLarge, match="largest side"):
        inspect(jpeg_rotated, Settings.from_env({}, MAX_IMAGE_SIDE=399))


def test_an_image_bigger_than_the_byte_limit_is_refused_before_it_is_read(png_alpha: Path) -> None:
    with pytest.raises(FileTooLarge) as caught:
        inspect(png_alpha, Settings.from_env({}, MAX_IMAGE_BYTES=100))

    assert caught.value.code == "file_too_large"


def test_a_video_bigger_than_the_byte_limit_is_refused(mp4_with_audio: Path) -> None:
    with pytest.raises(FileTooLarge):
        inspect(mp4_with_audio, Settings.from_env({}, MAX_VIDEO_BYTES=1000))


def test_a_video_with_frames_larger_than_the_side_limit_is_refused(mp4_with_audio: Path) -> None:
    with pytest.raises(VideoTooLarge, match="320x240"):
        inspect(mp4_with_audio, Settings.from_env({}, MAX_VIDEO_SIDE=300))


def test_a_video_longer_than_the_limit_is_refused(mp4_with_audio: Path) -> None:
    with pytest.raises(VideoTooLong) as caught:
        inspect(mp4_with_audio, Settings.from_env({}, MAX_VIDEO_DURATION=1.5))

    assert caught.value.code == "video_too_long"


def test_a_video_with_too_many_frames_is_refused(mp4_with_audio: Path) -> None:
    with pytest.raises(VideoTooLarge, match="50 frames"):
        inspect(mp4_with_audio, Settings.from_env({}, MAX_VIDEO_FRAMES=49))


def test_a_truncated_mp4_is_corrupt(truncated_mp4: Path, settings: Settings) -> None:
    with pytest.raises(CorruptMedia) as caught:
        inspect(truncated_mp4, settings)

    assert caught.value.code == "corrupt_media"


def test_a_jpeg_header_on_garbage_is_corrupt(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "fake.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 200)

    with pytest.raises(CorruptMedia):
        inspect(path, settings)


def test_limits_come_from_settings() -> None:
    limits = MediaLimits.from_settings(Settings.from_env({}, MAX_VIDEO_SIDE=100, MAX_IMAGE_BYTES=7))

    assert limits.video_pixels == 10_000
    assert limits.image_bytes == 7
    limits.check_bytes("image", 7)
    with pytest.raises(FileTooLarge):
        limits.check_bytes("image", 8)


# -- playable media: what profile uploads must prove before a quote -----------------------------

GOOD_MEDIA = ["jpeg_rotated", "jpeg_large", "png_alpha", "gif_animated", "webp_image", "mp4_with_audio",
              "mp4_without_audio", "mp4_rotated", "webm_without_duration"]


@pytest.mark.parametrize("fixture", GOOD_MEDIA)
def test_playable_good_media_decodes_and_probes_the_same(
    fixture: str, request: pytest.FixtureRequest, settings: Settings
) -> None:
    path = request.getfixturevalue(fixture)

    assert inspect(path, settings, playable=True) == inspect(path, settings)


def test_playable_media_refuses_a_jpeg_whose_pixels_are_cut_short(truncated_jpeg: Path, settings: Settings) -> None:
    assert inspect(truncated_jpeg, settings).kind == "image"  # the header alone is fine

    with pytest.raises(CorruptMedia, match="could not be decoded"):
        inspect(truncated_jpeg, settings, playable=True)


def test_playable_media_refuses_a_png_whose_pixel_data_is_garbage(tmp_path: Path, settings: Settings) -> None:
    from tests.shared.media.conftest import png_chunk

    path = tmp_path / "garbage.png"
    header = struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", bytes(range(256)) * 4)
                     + png_chunk(b"IEND", b""))

    with pytest.raises(CorruptMedia):
        inspect(path, settings, playable=True)


def faststart_cut(source: Path, target: Path, keep: float) -> Path:
    """``source`` (index first) cut to its first ``keep`` share of bytes: the index announces the rest."""
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def test_playable_media_refuses_an_mp4_cut_at_60_percent(tmp_path: Path, settings: Settings) -> None:
    from tests.support.media import h264_mp4

    whole = h264_mp4(tmp_path / "whole.mp4", seconds=5.0)
    cut = faststart_cut(whole, tmp_path / "cut.mp4", 0.6)
    assert inspect(cut, settings).duration == pytest.approx(5.0, abs=0.1)  # the headers promise 5 s

    with pytest.raises(CorruptMedia):
        inspect(cut, settings, playable=True)


def test_playable_media_refuses_an_mp4_cut_between_two_frames(tmp_path: Path, settings: Settings) -> None:
    import av

    from tests.support.media import h264_mp4

    whole = h264_mp4(tmp_path / "whole.mp4", seconds=2.0, audio=False)
    with av.open(str(whole)) as container:
        offsets = sorted(p.pos for p in container.demux(container.streams.video[0]) if p.pos and p.pos > 0)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: offsets[30]])  # every packet whole: nothing fails to decode

    with pytest.raises(CorruptMedia, match="end of the video does not decode"):
        inspect(cut, settings, playable=True)
