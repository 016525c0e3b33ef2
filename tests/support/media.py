"""Tiny media made at test time: Pillow images and ffmpeg ``testsrc2`` clips."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from PIL import Image

from shared.media.ffmpeg import ffmpeg_path
from shared.settings import Settings

# The engine's own ffmpeg, never whichever one is first on PATH (docs/ARCHITECTURE.md).
FFMPEG = ffmpeg_path(Settings.from_env({}))


def jpeg_with_orientation_and_gps(width: int = 1600, height: int = 1200, orientation: int = 6) -> bytes:
    """A landscape JPEG whose EXIF says 'rotate 90°' and carries a GPS position."""
    image = Image.new("RGB", (width, height))
    # A gradient with a marked corner, so orientation and similarity are visible.
    for x in range(0, width, 40):
        image.paste((x * 255 // width, 80, 160), (x, 0, x + 40, height))
    image.paste((255, 255, 0), (0, 0, width // 8, height // 8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "ShowreelTestCam"
    gps = {1: "N", 2: (55.0, 45.0, 21.0), 3: "E", 4: (37.0, 37.0, 4.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(out, "PNG")
    return out.getvalue()


def h264_mp4(path: Path, *, seconds: float = 2.0, size: str = "320x240", rate: int = 25,
             audio: bool = True) -> Path:
    """Make an H.264 (+ AAC) MP4 from ffmpeg's test sources."""
    args = [FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-shortest"] if audio else ["-an"]
    args += ["-movflags", "+faststart", str(path)]
    subprocess.run(args, check=True, timeout=120)
    return path
