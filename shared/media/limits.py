"""Size, pixel, duration and frame limits, checked before any decode starts."""

from __future__ import annotations

from dataclasses import dataclass

from shared.media.errors import FileTooLarge, ImageTooLarge, VideoTooLarge, VideoTooLong
from shared.settings import Settings


@dataclass(frozen=True)
class MediaLimits:
    image_bytes: int
    video_bytes: int
    image_pixels: int
    image_side: int
    video_side: int
    video_duration: float
    video_frames: int

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        """Build the limits from the MAX_* settings."""
        return cls(
            image_bytes=settings.MAX_IMAGE_BYTES,
            video_bytes=settings.MAX_VIDEO_BYTES,
            image_pixels=settings.MAX_IMAGE_PIXELS,
            image_side=settings.MAX_IMAGE_SIDE,
            video_side=settings.MAX_VIDEO_SIDE,
            video_duration=settings.MAX_VIDEO_DURATION,
            video_frames=settings.MAX_VIDEO_FRAMES,
        )

    @property
    def max_bytes(self) -> int:
        """Largest upload of any kind, for checks made before the type is known."""
        return max(self.image_bytes, self.video_bytes)

    @property
    def video_pixels(self) -> int:
        """Largest decoded frame area, handed to decoders as ``max_pixels``."""
        return self.video_side * self.video_side

    def check_bytes(self, kind: str, size: int) -> None:
        """Refuse a file of ``kind`` ("image", "video" or "any") bigger than allowed; raises FileTooLarge."""
        limit = {"image": self.image_bytes, "video": self.video_bytes, "any": self.max_bytes}[kind]
        if size > limit:
            raise FileTooLarge(
                f"The {'file' if kind == 'any' else kind} is {size} bytes; the limit is {limit} bytes",
                limit=limit,
            )

    def check_image(self, width: int, height: int) -> None:
        """Refuse an image whose header announces too many pixels; raises ImageTooLarge."""
        if width > self.image_side or height > self.image_side:
            raise ImageTooLarge(
                f"The image is {width}x{height}; the largest side allowed is {self.image_side} pixels",
                limit=self.image_side,
            )
        if width * height > self.image_pixels:
            raise ImageTooLarge(
                f"The image has {width * height} pixels; the limit is {self.image_pixels}",
                limit=self.image_pixels,
            )

    def check_video_size(self, width: int, height: int) -> None:
        """Refuse a video whose frames are too big; raises VideoTooLarge."""
        if width > self.video_side or height > self.video_side:
            raise VideoTooLarge(
                f"The video is {width}x{height}; the largest side allowed is {self.video_side} pixels",
                limit=self.video_side,
            )

    def check_video_length(self, duration: float | None, frames: int | None) -> None:
        """Refuse a video that lasts too long or has too many frames; raises VideoTooLong, VideoTooLarge."""
        if duration is not None and duration > self.video_duration:
            raise VideoTooLong(
                f"The video lasts {duration:.1f} s; the limit is {self.video_duration:g} s",
                limit=self.video_duration,
            )
        if frames is not None and frames > self.video_frames:
            raise VideoTooLarge(
                f"The video has {frames} frames; the limit is {self.video_frames}",
                limit=self.video_frames,
            )
