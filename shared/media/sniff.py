"""Decide the type of an upload from its first bytes, never from its name.

The answer picks the one decoder allowed to open the file: a Pillow format name
for images, an ffmpeg demuxer name for videos. Anything not recognised here is
refused, which is what keeps text formats ffmpeg would happily follow (HLS
playlists, concat scripts) away from the decoders.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.media.errors import EmptyFile, UnsupportedMedia

HEAD_BYTES = 64
"""How many leading bytes :func:`sniff` needs."""

# ftyp major brands that are stills or audio: the ISO box is the same as an MP4 video's.
_NOT_VIDEO_BRANDS = {
    b"heic",
    b"heix",
    b"heim",
    b"heis",
    b"hevc",
    b"hevx",
    b"mif1",
    b"msf1",
    b"avif",
    b"avis",
    b"jxl ",
    b"crx ",
    b"M4A ",
    b"M4B ",
    b"M4P ",
    b"F4A ",
    b"F4B ",
}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML_DOCTYPE_ID = b"\x42\x82"


@dataclass(frozen=True)
class Sniffed:
    kind: str
    format: str
    content_type: str
    extension: str


_JPEG = Sniffed("image", "JPEG", "image/jpeg", ".jpg")
_PNG = Sniffed("image", "PNG", "image/png", ".png")
_GIF = Sniffed("image", "GIF", "image/gif", ".gif")
_WEBP = Sniffed("image", "WEBP", "image/webp", ".webp")
_MP4 = Sniffed("video", "mov", "video/mp4", ".mp4")
_MOV = Sniffed("video", "mov", "video/quicktime", ".mov")
_M4V = Sniffed("video", "mov", "video/x-m4v", ".m4v")
_3GP = Sniffed("video", "mov", "video/3gpp", ".3gp")
_3G2 = Sniffed("video", "mov", "video/3gpp2", ".3g2")
_WEBM = Sniffed("video", "matroska", "video/webm", ".webm")
_MKV = Sniffed("video", "matroska", "video/x-matroska", ".mkv")
_AVI = Sniffed("video", "avi", "video/x-msvideo", ".avi")

SUPPORTED: tuple[Sniffed, ...] = (_JPEG, _PNG, _GIF, _WEBP, _MP4, _MOV, _M4V, _3GP, _3G2, _WEBM, _MKV, _AVI)


def sniff(head: bytes) -> Sniffed:
    """Return the media type the leading bytes announce; raises EmptyFile, UnsupportedMedia."""
    if not head:
        raise EmptyFile()
    if head.startswith(b"\xff\xd8\xff"):
        return _JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return _GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return _AVI
    if head.startswith(_EBML_MAGIC):
        return _matroska(head)
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head[4:8] in _QUICKTIME_ATOMS and _plausible_atom_size(head):
        return _MOV
    raise UnsupportedMedia("The file is not a supported image or video")


def _iso_media(head: bytes) -> Sniffed:
    brand = head[8:12]
    if brand in _NOT_VIDEO_BRANDS:
        raise UnsupportedMedia("The file is an ISO media still image or audio file, not a video")
    if brand == b"qt  ":
        return _MOV
    if brand.startswith(b"M4V"):
        return _M4V
    if brand.startswith(b"3gp"):
        return _3GP
    if brand.startswith(b"3g2"):
        return _3G2
    return _MP4


def _matroska(head: bytes) -> Sniffed:
    # The EBML header holds DocType ("webm" or "matroska") within the first bytes.
    at = head.find(_EBML_DOCTYPE_ID, 4)
    if at != -1 and at + 2 < len(head):
        size_byte = head[at + 2]
        # A one-byte EBML length: high bit set, value in the low seven bits.
        if size_byte & 0x80:
            size = size_byte & 0x7F
            doctype = head[at + 3 : at + 3 + size]
            if doctype == b"webm":
                return _WEBM
            if doctype == b"matroska":
                return _MKV
    if b"webm" in head:
        return _WEBM
    return _MKV


def _plausible_atom_size(head: bytes) -> bool:
    size = int.from_bytes(head[:4], "big")
    # 0 means "to the end of the file" and 1 means a 64-bit size follows.
    return size in (0, 1) or size >= 8
