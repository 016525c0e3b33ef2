"""Errors of the media engine, each with a stable code.

They subclass the HTTP-neutral categories of :mod:`shared.errors`, so the API maps
them to statuses and workers know which ones are worth a retry.
"""

from __future__ import annotations

from shared.errors import (
    InvalidInput,
    PayloadTooLarge,
    PermanentError,
    TransientError,
    Unprocessable,
    UnsupportedMediaType,
)


class EmptyFile(InvalidInput):
    code = "empty_file"
    title = "The file is empty"


class FileTooLarge(PayloadTooLarge):
    code = "file_too_large"
    title = "The file is too large"


class UnsupportedMedia(UnsupportedMediaType):
    code = "unsupported_media_type"
    title = "This type of file is not supported"


class CorruptMedia(Unprocessable):
    code = "corrupt_media"
    title = "The file is damaged or not what it claims to be"


class ImageTooLarge(Unprocessable):
    code = "image_too_large"
    title = "The image has too many pixels"


class VideoTooLarge(Unprocessable):
    code = "video_too_large"
    title = "The video is too large"


class VideoTooLong(Unprocessable):
    code = "video_too_long"
    title = "The video is too long"


class MediaTimeout(TransientError):
    code = "processing_timeout"
    title = "Processing the media took too long"


class ProcessingCanceled(PermanentError):
    code = "canceled"
    title = "Processing was canceled"


class FFmpegFailed(PermanentError):
    code = "transcode_failed"
    title = "The video could not be converted"


class FFmpegInterrupted(TransientError):
    """ffmpeg could not start, was killed by a signal (e.g. the OOM killer) or ran out of disk:
    the machine's fault, not the file's, so the step is retried and the source kept."""

    code = "transcode_interrupted"
    title = "The conversion was interrupted"
