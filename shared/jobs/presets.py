"""Presets: what a job makes from an image or a video, with a version.

A preset's version is part of a job's identity: changing what a preset produces
means bumping its version, so the same file is processed again under the new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.jobs.errors import PresetKindMismatch, UnknownPreset


@dataclass(frozen=True)
class ImageSpec:
    sizes: dict[str, int]  # output name -> long side in pixels

    def output_names(self) -> list[str]:
        return [n for name in self.sizes for n in (name, f"{name}_webp")]


@dataclass(frozen=True)
class VideoSpec:
    outputs: tuple[str, ...] = ("webm", "poster", "preview")
    overrides: dict[str, Any] = field(default_factory=dict)  # settings this preset changes

    def output_names(self) -> list[str]:
        return list(self.outputs)


@dataclass(frozen=True)
class Preset:
    name: str
    version: int
    description: str
    image: ImageSpec | None = None
    video: VideoSpec | None = None

    def spec_for(self, kind: str) -> ImageSpec | VideoSpec:
        spec = self.image if kind == "image" else self.video
        if spec is None:
            raise PresetKindMismatch(f"preset {self.name!r} does not accept {kind} files")
        return spec

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "version": self.version, "description": self.description,
                                "kinds": []}
        if self.image:
            data["kinds"].append("image")
            data["image"] = {"outputs": self.image.output_names(), "sizes": dict(self.image.sizes),
                             "formats": ["jpeg", "webp"]}
        if self.video:
            data["kinds"].append("video")
            data["video"] = {"outputs": self.video.output_names(),
                             "metadata": ["width", "height", "duration", "codec"],
                             "settings": dict(self.video.overrides)}
        return data


DEFAULT_IMAGE_SIZES = {"large": 2048, "medium": 1280, "thumb": 320}

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("default", 1, "Image sizes thumb/medium/large (JPEG + WebP); video WebM, poster, preview",
               image=ImageSpec(DEFAULT_IMAGE_SIZES), video=VideoSpec()),
        Preset("avatar", 1, "Profile pictures: 1024, 512 and 128 px (JPEG + WebP)",
               image=ImageSpec({"large": 1024, "medium": 512, "small": 128})),
        Preset("video_quality", 1, "Video in VP9 'good' mode: ~5x slower, smaller files",
               video=VideoSpec(overrides={"VIDEO_QUALITY_MODE": "good"})),
    )
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPreset(f"unknown preset {name!r}; see GET /api/presets/") from None
