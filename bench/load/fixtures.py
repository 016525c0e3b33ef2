"""Media the simulated users post, made at run time: every upload distinct, cheaply."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

from PIL import Image


def photo(width: int, height: int, quality: int = 90) -> bytes:
    """A JPEG that compresses like a photo (noise over a gradient; a flat one would flatter every number)."""
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    Image.blend(noise, gradient, 0.5).save(out, "JPEG", quality=quality)
    return out.getvalue()


def unique_jpeg(data: bytes) -> bytes:
    """``data`` with a random JPEG comment after SOI: new bytes (no dedup), same pixels and cost."""
    payload = os.urandom(16).hex().encode()
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def unique_mp4(data: bytes) -> bytes:
    """``data`` with a top-level ``free`` box appended (ISO BMFF readers skip it): new bytes, same video."""
    payload = os.urandom(16)
    return data + struct.pack(">I", len(payload) + 8) + b"free" + payload


def make_fixtures(folder: Path, *, photos: int) -> Path:
    """Write the small images, the 5 s clip and ``photos`` distinct 1024x768 photos into ``folder``."""
    from tests.support.media import h264_mp4

    folder.mkdir(parents=True, exist_ok=True)
    for index, (width, height) in enumerate(((320, 240), (480, 360), (640, 480), (256, 256))):
        (folder / f"small-{index}.jpg").write_bytes(photo(width, height))
    h264_mp4(folder / "clip.mp4", seconds=5, size="320x240", rate=25, audio=True)
    for index in range(photos):
        (folder / f"photo-{index:03d}.jpg").write_bytes(photo(1024, 768))
    return folder
