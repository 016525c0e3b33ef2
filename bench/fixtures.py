"""Fixtures made at bench time: a photo-like 24 MP JPEG and H.264/AAC test clips."""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageFilter

from shared.media.ffmpeg import ffmpeg_path
from shared.settings import Settings

PHOTO_SIZE = (6000, 4000)
PHOTO_QUALITY = 90
# Orientation 6 ("rotate 90° clockwise"): how phones store portrait photos.
PHOTO_ORIENTATION = 6
CLIP_SIZE = "1280x720"
CLIP_FPS = 30


@dataclass(frozen=True)
class Fixtures:
    photo: Path
    warmup_photo: Path
    clip: Path  # 10 s
    clip_seconds: float
    long_clip: Path  # 60 s
    long_clip_seconds: float


def make_all(folder: Path) -> Fixtures:
    """Generate every fixture into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    photo, warmup = make_photo(folder / "photo.jpg", folder / "warmup.jpg")
    clip = make_clip(folder / "clip10.mp4", 10)
    long_clip = make_clip(folder / "clip60.mp4", 60)
    return Fixtures(photo, warmup, clip, 10.0, long_clip, 60.0)


def make_photo(path: Path, warmup_path: Path, seed: int = 24) -> tuple[Path, Path]:
    """Write a photo-like 6000x4000 JPEG (and a small one for warm-ups) with an EXIF orientation.

    Smooth colour fields, hundreds of flat shapes with soft edges, uneven lighting, a fine texture and
    sensor-like noise: about 8 MB at quality 90, so decoding and encoding cost what a real photo costs
    (a flat picture would compress to almost nothing and decode several times faster).
    """
    rng = np.random.default_rng(seed)
    width, height = PHOTO_SIZE

    def field(cells_x: int, cells_y: int, mode: str = "RGB") -> Image.Image:
        shape = (cells_y, cells_x, 3) if mode == "RGB" else (cells_y, cells_x)
        cells = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8))
        return cells.resize(PHOTO_SIZE, Image.Resampling.BICUBIC)

    image = Image.blend(field(6, 4), field(24, 16), 0.35)
    draw = ImageDraw.Draw(image)
    for _ in range(500):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        radius = int(math.exp(rng.uniform(math.log(15), math.log(600))))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = (x - radius, y - int(radius * rng.uniform(0.4, 1.2)), x + radius, y + radius)
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw.ellipse(box, fill=colour)
        elif kind == 1:
            draw.rectangle(box, fill=colour)
        else:
            angles = np.sort(rng.uniform(0, 2 * math.pi, 6))
            draw.polygon([(x + radius * math.cos(a), y + radius * math.sin(a)) for a in angles], fill=colour)
    image = image.filter(ImageFilter.BoxBlur(1))

    light = field(5, 4, "L").point(lambda v: 140 + v * 115 // 255)
    image = ImageChops.multiply(image, Image.merge("RGB", (light, light, light)))
    texture = field(width // 2, height // 2, "L").point(lambda v: 128 + (v - 128) * 30 // 128)
    image = ImageChops.add(image, Image.merge("RGB", (texture, texture, texture)), offset=-128)
    # Pillow's Gaussian noise is slow on 24 MP: a 1000 px tile, shifted on each row of tiles.
    tile = Image.merge("RGB", [Image.effect_noise((1000, 1000), 5) for _ in range(3)])
    noise = Image.new("RGB", PHOTO_SIZE)
    for top in range(0, height, 1000):
        for left in range(-((top // 1000 * 337) % 1000) - 1000, width, 1000):
            noise.paste(tile, (left, top))
    image = ImageChops.add(image, noise, offset=-128)

    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = PHOTO_ORIENTATION
    exif[ExifTags.Base.Make] = "Showreel"
    exif[ExifTags.Base.Model] = "Bench camera"
    image.save(path, "JPEG", quality=PHOTO_QUALITY, exif=exif)
    image.resize((600, 400), Image.Resampling.BOX).save(warmup_path, "JPEG", quality=PHOTO_QUALITY, exif=exif)
    return path, warmup_path


def make_clip(path: Path, seconds: int) -> Path:
    """Write an H.264 + AAC MP4 of ``seconds`` from ffmpeg's testsrc2 and a sine tone.

    x264's default keyframe interval (250 frames, 8.3 s) is kept: it decides what a seek costs.
    """
    ffmpeg = ffmpeg_path(Settings.from_env({}))
    # fmt: off
    args = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={CLIP_SIZE}:rate={CLIP_FPS}:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k",
        "-movflags", "+faststart",
        str(path),
    ]
    # fmt: on
    subprocess.run(args, check=True, timeout=600)
    return path
