"""Render the image presets (JPEG and WebP per size) from one decode of the upload."""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from shared.errors import ShowreelError
from shared.media.errors import CorruptMedia, UnsupportedMedia
from shared.media.info import OutputFile
from shared.media.limits import MediaLimits
from shared.media.probe import exif_orientation, open_image
from shared.media.sniff import HEAD_BYTES, sniff
from shared.settings import Settings

if TYPE_CHECKING:
    from PIL import Image

# Pillow is imported where pictures are decoded: importing the media engine (the web process does,
# through the pipeline modules) costs nothing until an image is rendered.

__all__ = ["OutputFile", "render_image_presets"]

# EXIF orientation -> the Image.Transpose that shows the picture upright (what ImageOps.exif_transpose does).
_UPRIGHT = {
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_270",
    7: "TRANSVERSE",
    8: "ROTATE_90",
}
# Shrinking by more than this factor first reduces by whole-pixel boxes, then resamples (Pillow's
# reducing_gap): close to a full Lanczos, several times faster on big ratios.
_REDUCING_GAP = 3.0
# Pillow releases the GIL while it resizes and encodes: the encodes of one size run while the next size
# is resized, and the first resize runs as two strips. Two threads: the media machines have two cores.
_THREADS = 2
# Below this many output rows splitting the first resize costs more than it saves.
_SPLIT_MIN_ROWS = 256
_BACKGROUND = (255, 255, 255)


@functools.cache
def _srgb_profile():
    from PIL import ImageCms

    return ImageCms.createProfile("sRGB")


def render_image_presets(
    src_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    sizes: dict[str, int],
    settings: Settings,
) -> dict[str, OutputFile]:
    """Write ``<name>.jpg`` and ``<name>.webp`` per preset (long side in pixels, never upscaled).

    Raises UnsupportedMedia, ImageTooLarge, CorruptMedia.
    """
    if not sizes or min(sizes.values()) < 1:
        raise ValueError("sizes must name at least one preset with a positive long side")
    limits = MediaLimits.from_settings(settings)
    with open(src_path, "rb") as fh:
        sniffed = sniff(fh.read(HEAD_BYTES))
    if sniffed.kind != "image":
        raise UnsupportedMedia("The file is not an image")

    current, targets = _decode_upright(src_path, sniffed.format, sizes, limits)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="image-presets") as pool:
        saving: dict[str, Future[list[OutputFile]]] = {}
        # Presets that come out the same size (a picture smaller than both is never upscaled) share one
        # encode: the second gets copies of the first one's files, the bytes its own encode would give.
        same_as: dict[str, str] = {}
        # Largest first, each smaller one from the previous result: every step resamples fewer pixels.
        for name in sorted(targets, key=lambda n: targets[n][0] * targets[n][1], reverse=True):
            encoded = next((done for done in saving if targets[done] == targets[name]), None)
            if encoded is not None:
                same_as[name] = encoded
                continue
            if current.size != targets[name]:
                # Only the first resize has the pool to itself; later ones overlap the pending encodes.
                current = _resize(current, targets[name], None if saving else pool)
            saving[name] = pool.submit(_save_both, current, out, name, settings)
        outputs: dict[str, OutputFile] = {}
        for name in sizes:
            written = saving[name].result() if name in saving else _copy_both(saving[same_as[name]].result(), name)
            for output in written:
                outputs[output.name] = output
    return outputs


def _decode_upright(
    src_path: str | os.PathLike[str],
    fmt: str,
    sizes: dict[str, int],
    limits: MediaLimits,
) -> tuple[Image.Image, dict[str, tuple[int, int]]]:
    """Decode once (JPEG at the smallest sufficient DCT scale) into an upright RGB image.

    Returns it with the width x height of each preset. Raises ImageTooLarge, CorruptMedia.
    """
    from PIL import Image

    with open_image(src_path, fmt, limits) as image:
        try:
            orientation = exif_orientation(image)
            stored_w, stored_h = image.size
            quarter_turn = orientation >= 5
            shown_w, shown_h = (stored_h, stored_w) if quarter_turn else (stored_w, stored_h)
            targets = {name: _fit(shown_w, shown_h, side) for name, side in sizes.items()}

            largest_w, largest_h = max(targets.values(), key=lambda wh: wh[0] * wh[1])
            # draft() works in stored orientation and only ever decodes at or above the requested size.
            image.draft("RGB", (largest_h, largest_w) if quarter_turn else (largest_w, largest_h))
            image.load()
            if orientation in _UPRIGHT:
                # After draft: rotating the reduced image is a fraction of rotating the full one.
                upright = image.transpose(Image.Transpose[_UPRIGHT[orientation]])
            else:
                upright = image
            current = _to_srgb(upright)
            if current is image:
                # Closing the file below would invalidate the pixels of the opened image itself.
                current = image.copy()
        except ShowreelError:
            raise
        except Exception as exc:  # noqa: BLE001 - any decoder error means corrupt media (truncated data, ...)
            raise CorruptMedia(f"The image could not be decoded: {exc}") from None
    return current, targets


def _resize(image: Image.Image, target: tuple[int, int], pool: ThreadPoolExecutor | None) -> Image.Image:
    """Resize with Lanczos; with a pool, as a top and a bottom strip resized on two threads.

    The strips give the pixels of one resize: Pillow's filter reads source rows across the edge of a box,
    the box only places the output rows (identical bytes when no reducing_gap pre-reduction applies, else
    a few values differ by one).
    """
    from PIL import Image

    width, height = target
    if pool is None or height < _SPLIT_MIN_ROWS:
        return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    source_width, source_height = image.size
    middle = height // 2
    edge = middle * source_height / height
    strips = [
        ((0.0, 0.0, float(source_width), edge), (width, middle)),
        ((0.0, edge, float(source_width), float(source_height)), (width, height - middle)),
    ]
    top, bottom = pool.map(
        lambda strip: image.resize(
            strip[1], Image.Resampling.LANCZOS, box=strip[0], reducing_gap=_REDUCING_GAP
        ),
        strips,
    )
    resized = Image.new(image.mode, target)
    resized.paste(top, (0, 0))
    resized.paste(bottom, (0, middle))
    return resized


def _fit(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Return width x height scaled so the long side is at most ``long_side`` (never enlarged)."""
    scale = min(1.0, long_side / max(width, height))
    if scale == 1.0:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_srgb(image: Image.Image) -> Image.Image:
    """Return an 8-bit RGB image in sRGB: first frame, alpha flattened on white, ICC profile applied."""
    from PIL import Image, ImageCms

    icc = image.info.get("icc_profile")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit greyscale PNGs: scale to 8 bits rather than clip at 255.
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, _BACKGROUND)
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    if icc and image.mode in ("RGB", "CMYK"):
        try:
            # Outputs carry no profile, so colours from Display P3, Adobe RGB or CMYK are converted now.
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, profile, _srgb_profile(), outputMode="RGB")
            if converted is not None:
                image = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # An unusable profile: show the numbers as sRGB, as browsers do.
    if image.mode != "RGB":
        image = image.convert("RGB")
    return image


def _save_both(image: Image.Image, out: Path, name: str, settings: Settings) -> list[OutputFile]:
    """Write ``<name>.jpg`` then ``<name>.webp`` (not at once: Pillow keeps save options on the image)."""
    return [
        _save(
            image,
            out / f"{name}.jpg",
            name,
            "JPEG",
            "image/jpeg",
            quality=settings.JPEG_QUALITY,
            optimize=False,
        ),
        _save(
            image,
            out / f"{name}.webp",
            f"{name}_webp",
            "WEBP",
            "image/webp",
            quality=settings.WEBP_QUALITY,
            method=settings.WEBP_METHOD,
        ),
    ]


def _copy_both(encoded: list[OutputFile], name: str) -> list[OutputFile]:
    """Copy the files of another preset of the same size to ``<name>.jpg`` and ``<name>.webp``."""
    copies = []
    for output in encoded:
        source = Path(output.path)
        path = source.with_name(name + output.extension)
        part = path.with_name(path.name + ".part")
        shutil.copyfile(source, part)
        os.replace(part, path)
        suffix = output.name.removeprefix(source.stem)  # "" or "_webp"
        copies.append(dataclasses.replace(output, name=name + suffix, path=str(path)))
    return copies


def _save(
    image: Image.Image, path: Path, name: str, fmt: str, content_type: str, **params: object
) -> OutputFile:
    """Encode ``image`` to ``path`` through a temporary name, without any metadata."""
    # Pillow copies info (EXIF, XMP, ICC, comments) into derived images and some encoders write it back.
    image.info = {}
    part = path.with_name(path.name + ".part")
    image.save(part, format=fmt, **params)
    os.replace(part, path)
    return OutputFile(
        name=name,
        path=str(path),
        content_type=content_type,
        extension=path.suffix,
        size=path.stat().st_size,
        width=image.width,
        height=image.height,
    )
