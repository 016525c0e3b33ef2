"""What the probe learns about a media file, and what a step writes: plain data, no decoder imports."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass
class MediaInfo:
    kind: str
    format: str
    content_type: str
    extension: str
    width: int
    height: int
    duration: float | None = None
    codec: str | None = None
    frames: int | None = None
    has_audio: bool = False
    orientation: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaInfo:
        """Rebuild a MediaInfo from :meth:`as_dict`'s output, ignoring keys it does not know.

        Stored snapshots outlive code versions: a key written by another version is skipped.
        """
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass
class OutputFile:
    name: str
    path: str
    content_type: str
    extension: str
    size: int
    width: int
    height: int
    duration: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return dataclasses.asdict(self)
