"""Tiny media made at test time: good images and videos, and files that must be refused."""

from __future__ import annotations

import random
import shlex
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import IO

import pytest
from PIL import ExifTags, Image, ImageDraw

from shared.media.ffmpeg import ffmpeg_path
from shared.settings import Settings

GPS_LATITUDE = (55.0, 45.0, 21.0)
XMP_PACKET = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="55,45.35N"/>'
    b"</rdf:RDF></x:xmpmeta>"
)
SECRET_MARKER = b"TOP-SECRET-MARKER-7f3a"


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env({})


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    path = tmp_path / "job"
    path.mkdir()
    return path


def copy_into(work_dir: Path, src: Path) -> Path:
    """Copy a fixture into a job's work directory, as the pipeline does with an upload."""
    target = work_dir / ("source" + src.suffix)
    shutil.copyfile(src, target)
    return target


def pattern(width: int, height: int) -> Image.Image:
    """Return an RGB test card whose orientation and scale are easy to tell apart."""
    image = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").rotate(90).resize((width, height)),
            Image.linear_gradient("L").resize((width, height)),
            Image.new("L", (width, height), 96),
        ),
    )
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 3, height // 4), fill=(255, 0, 0))
    draw.ellipse((width // 2, height // 2, width - 1, height - 1), fill=(0, 0, 255))
    return image


def run_ffmpeg_cli(arguments: str, *, cwd: Path, stdout: IO[bytes] | None = None) -> None:
    """Make a fixture with the ffmpeg binary the engine uses; ``arguments`` split like a shell line."""
    command = [ffmpeg_path(Settings.from_env({})), "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    subprocess.run([*command, *shlex.split(arguments)], cwd=cwd, stdout=stdout, check=True, timeout=60)


@pytest.fixture(scope="session")
def jpeg_rotated(media_dir: Path) -> Path:
    """A 400x300 stored JPEG whose EXIF says "rotate 90° clockwise" (6), with GPS, XMP and a comment."""
    path = media_dir / "rotated.jpg"
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "TestCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (37.0, 37.0, 0.0)
    pattern(400, 300).save(
        path, "JPEG", quality=95, exif=exif.tobytes(), xmp=XMP_PACKET, comment=b"shot at home"
    )
    return path


@pytest.fixture(scope="session")
def jpeg_large(media_dir: Path) -> Path:
    """A 2400x1800 JPEG, big enough for draft decoding to kick in."""
    path = media_dir / "large.jpg"
    pattern(2400, 1800).save(path, "JPEG", quality=90)
    return path


@pytest.fixture(scope="session")
def png_alpha(media_dir: Path) -> Path:
    """A 120x80 PNG whose left half is fully transparent."""
    path = media_dir / "alpha.png"
    image = Image.new("RGBA", (120, 80), (0, 128, 0, 255))
    ImageDraw.Draw(image).rectangle((0, 0, 59, 79), fill=(0, 0, 0, 0))
    image.save(path, "PNG")
    return path


@pytest.fixture(scope="session")
def gif_animated(media_dir: Path) -> Path:
    """A two-frame 60x40 GIF: red, then blue."""
    path = media_dir / "animated.gif"
    frames = [Image.new("RGB", (60, 40), (255, 0, 0)), Image.new("RGB", (60, 40), (0, 0, 255))]
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


@pytest.fixture(scope="session")
def webp_image(media_dir: Path) -> Path:
    path = media_dir / "picture.webp"
    pattern(200, 100).save(path, "WEBP", quality=90)
    return path


@pytest.fixture(scope="session")
def mp4_with_audio(media_dir: Path) -> Path:
    """2 s of 320x240 H.264 at 25 fps with AAC audio."""
    path = media_dir / "clip.mp4"
    run_ffmpeg_cli(
        "-f lavfi -i testsrc2=size=320x240:rate=25:duration=2"
        " -f lavfi -i sine=frequency=440:sample_rate=44100:duration=2"
        " -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 64k -shortest"
        f" -metadata location=+55.7558+037.6173/ {path.name}",
        cwd=media_dir,
    )
    return path


@pytest.fixture(scope="session")
def mp4_without_audio(media_dir: Path) -> Path:
    path = media_dir / "silent.mp4"
    run_ffmpeg_cli(
        "-f lavfi -i testsrc2=size=320x240:rate=25:duration=1"
        f" -c:v libx264 -preset ultrafast -pix_fmt yuv420p {path.name}",
        cwd=media_dir,
    )
    return path


@pytest.fixture(scope="session")
def mp4_rotated(media_dir: Path, mp4_without_audio: Path) -> Path:
    """A landscape 320x240 stream a phone would display as portrait (display rotation 90°)."""
    path = media_dir / "portrait.mp4"
    run_ffmpeg_cli(f"-display_rotation:v:0 90 -i {mp4_without_audio.name} -c copy {path.name}", cwd=media_dir)
    return path


@pytest.fixture(scope="session")
def webm_without_duration(media_dir: Path) -> Path:
    """A WebM written to a pipe, as browsers record: no duration in its headers."""
    path = media_dir / "recorded.webm"
    with open(path, "wb") as out:
        run_ffmpeg_cli(
            "-f lavfi -i testsrc2=size=160x120:rate=25:duration=1"
            " -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -f webm pipe:1",
            cwd=media_dir,
            stdout=out,
        )
    return path


@pytest.fixture(scope="session")
def m4a_audio_only(media_dir: Path) -> Path:
    """An MP4 holding only AAC audio, with a generic isom brand so it sniffs as video."""
    path = media_dir / "voice.mp4"
    run_ffmpeg_cli(f"-f lavfi -i sine=duration=1 -c:a aac -f mp4 {path.name}", cwd=media_dir)
    return path


@pytest.fixture(scope="session")
def truncated_mp4(media_dir: Path, mp4_with_audio: Path) -> Path:
    """The first half of an MP4 whose index (moov) sits at the end."""
    path = media_dir / "truncated.mp4"
    data = mp4_with_audio.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture(scope="session")
def text_as_jpg(media_dir: Path) -> Path:
    path = media_dir / "notes.jpg"
    path.write_text("just some text, not a picture\n")
    return path


@pytest.fixture(scope="session")
def empty_file(media_dir: Path) -> Path:
    path = media_dir / "empty.jpg"
    path.write_bytes(b"")
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.fixture(scope="session")
def png_bomb(media_dir: Path) -> Path:
    """A PNG header claiming 30000x30000 (900 MP), with a valid CRC and no pixel data at all."""
    path = media_dir / "bomb.png"
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="session")
def truncated_jpeg(media_dir: Path) -> Path:
    path = media_dir / "truncated.jpg"
    full = media_dir / "full-for-truncation.jpg"
    pattern(640, 480).save(full, "JPEG", quality=90)
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture(scope="session")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file outside every work directory that no crafted input may leak."""
    path = tmp_path_factory.mktemp("outside") / "secret.txt"
    path.write_bytes(SECRET_MARKER + b"\n")
    return path


@pytest.fixture(scope="session")
def hls_playlist_as_mp4(media_dir: Path, secret_file: Path) -> Path:
    path = media_dir / "playlist.mp4"
    path.write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:10.0,\n{secret_file}\n#EXTINF:10.0,\n/etc/passwd\n#EXT-X-ENDLIST\n"
    )
    return path


@pytest.fixture(scope="session")
def ffconcat_as_mp4(media_dir: Path, secret_file: Path) -> Path:
    path = media_dir / "concat.mp4"
    path.write_text(f"ffconcat version 1.0\nfile '{secret_file}'\nfile '/etc/passwd'\n")
    return path


@pytest.fixture(scope="session")
def html_as_png(media_dir: Path) -> Path:
    path = media_dir / "page.png"
    path.write_text("<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>")
    return path


@pytest.fixture(scope="session")
def random_as_mov(media_dir: Path) -> Path:
    path = media_dir / "noise.mov"
    path.write_bytes(random.Random(1234).randbytes(4096))
    return path
