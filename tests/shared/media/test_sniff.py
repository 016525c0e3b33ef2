from __future__ import annotations

import random
from pathlib import Path

import pytest

from shared.media.errors import EmptyFile, UnsupportedMedia
from shared.media.sniff import HEAD_BYTES, sniff


def ftyp(brand: bytes) -> bytes:
    return b"\x00\x00\x00\x20ftyp" + brand + b"\x00\x00\x02\x00" + brand + b"isomavc1mp41" + b"\x00" * 16


def ebml(doctype: bytes) -> bytes:
    body = b"\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
    body += b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(body)]) + body + b"\x18\x53\x80\x67"


@pytest.mark.parametrize(
    ("head", "kind", "fmt", "content_type", "extension"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image", "JPEG", "image/jpeg", ".jpg"),
        (b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00", "image", "JPEG", "image/jpeg", ".jpg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image", "PNG", "image/png", ".png"),
        (b"GIF89a\x01\x00\x01\x00", "image", "GIF", "image/gif", ".gif"),
        (b"GIF87a\x01\x00\x01\x00", "image", "GIF", "image/gif", ".gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image", "WEBP", "image/webp", ".webp"),
        (ftyp(b"isom"), "video", "mov", "video/mp4", ".mp4"),
        (ftyp(b"mp42"), "video", "mov", "video/mp4", ".mp4"),
        (ftyp(b"qt  "), "video", "mov", "video/quicktime", ".mov"),
        (ftyp(b"M4V "), "video", "mov", "video/x-m4v", ".m4v"),
        (ftyp(b"3gp5"), "video", "mov", "video/3gpp", ".3gp"),
        (b"\x00\x00\x00\x08wide\x00\x01\x00\x00mdat", "video", "mov", "video/quicktime", ".mov"),
        (b"\x00\x00\x01\x00moov\x00\x00\x00\x6cmvhd", "video", "mov", "video/quicktime", ".mov"),
        (ebml(b"webm"), "video", "matroska", "video/webm", ".webm"),
        (ebml(b"matroska"), "video", "matroska", "video/x-matroska", ".mkv"),
        (b"RIFF\x00\x10\x00\x00AVI LIST", "video", "avi", "video/x-msvideo", ".avi"),
    ],
)
def test_known_magic_bytes_name_their_decoder(
    head: bytes, kind: str, fmt: str, content_type: str, extension: str
) -> None:
    sniffed = sniff(head)

    assert (sniffed.kind, sniffed.format, sniffed.content_type, sniffed.extension) == (
        kind,
        fmt,
        content_type,
        extension,
    )


def test_empty_input_is_an_empty_file() -> None:
    with pytest.raises(EmptyFile) as caught:
        sniff(b"")

    assert caught.value.code == "empty_file"


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(b"just some text, not a picture\n", id="text"),
        pytest.param(b"<!DOCTYPE html><html><body>", id="html"),
        pytest.param(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">', id="svg-xml"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg" width="10">', id="svg"),
        pytest.param(b"#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:10.0,\n/etc/passwd\n", id="hls-playlist"),
        pytest.param(b"ffconcat version 1.0\nfile '/etc/passwd'\n", id="ffconcat"),
        pytest.param(b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00", id="bmp"),
        pytest.param(b"II*\x00\x08\x00\x00\x00", id="tiff"),
        pytest.param(b"%PDF-1.7\n", id="pdf"),
        pytest.param(b"PK\x03\x04\x14\x00", id="zip"),
        pytest.param(b"ID3\x04\x00\x00\x00\x00\x00\x00", id="mp3"),
        pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt ", id="wav"),
        pytest.param(ftyp(b"heic"), id="heic-is-optional-and-refused"),
        pytest.param(ftyp(b"avif"), id="avif"),
        pytest.param(ftyp(b"M4A "), id="m4a-audio"),
        pytest.param(random.Random(1234).randbytes(64), id="random-bytes"),
    ],
)
def test_anything_else_is_unsupported(head: bytes) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        sniff(head)

    assert caught.value.code == "unsupported_media_type"


def test_the_name_of_a_file_plays_no_part(html_as_png: Path, text_as_jpg: Path, random_as_mov: Path) -> None:
    for path in (html_as_png, text_as_jpg, random_as_mov):
        with pytest.raises(UnsupportedMedia):
            sniff(path.read_bytes()[:HEAD_BYTES])


def test_real_files_are_recognised_from_their_first_bytes(
    jpeg_rotated: Path,
    png_alpha: Path,
    gif_animated: Path,
    webp_image: Path,
    mp4_with_audio: Path,
    webm_without_duration: Path,
) -> None:
    found = {
        path.name: sniff(path.read_bytes()[:HEAD_BYTES]).content_type
        for path in (jpeg_rotated, png_alpha, gif_animated, webp_image, mp4_with_audio, webm_without_duration)
    }

    assert found == {
        "rotated.jpg": "image/jpeg",
        "alpha.png": "image/png",
        "animated.gif": "image/gif",
        "picture.webp": "image/webp",
        "clip.mp4": "video/mp4",
        "recorded.webm": "video/webm",
    }
