"""Errors of temporary uploads (stable codes; docs/ERRORS.md)."""

from __future__ import annotations

from shared.errors import (
    Conflict,
    Gone,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unprocessable,
    UnsupportedMediaType,
)
from shared.files import TempStorageFull  # noqa: F401  (the temp area is shared.files'; uploads fill it too)


class UploadNotFound(NotFound):
    """Unknown, deleted, or someone else's upload (others' uploads are not found either)."""

    code = "upload_not_found"
    title = "No such upload"


class UploadExpired(Gone):
    code = "upload_expired"
    title = "The upload expired before a submission took it"


class UploadInUse(Conflict):
    code = "upload_in_use"
    title = "A submission uses this upload"


class UploadAlreadyClaimed(Conflict):
    code = "upload_already_claimed"
    title = "Another submission already uses this upload"


class UploadKindMismatch(UnsupportedMediaType):
    """The bytes are not the ``kind`` the client announced."""

    code = "upload_kind_mismatch"
    title = "The file is not of the announced kind"


class WrongUploadKind(Unprocessable):
    """A submission names an image upload where a video is needed, or the other way round."""

    code = "wrong_upload_kind"
    title = "The upload is of the wrong kind for this use"


class UploadQuotaExceeded(RateLimited):
    code = "upload_quota_exceeded"
    title = "Upload quota exceeded"


class UploadLargerThanQuota(PayloadTooLarge):
    """The one file is larger than a whole day's quota: waiting cannot help."""

    code = "file_too_large"
    title = "The file is too large"


class PosterUnavailable(Unprocessable):
    code = "poster_unavailable"
    title = "No poster frame could be taken from this video"


# -- resumable (tus) uploads ------------------------------------------------------------------


class InvalidTusRequest(InvalidInput):
    """A tus request whose headers break the protocol (lengths, offsets, metadata)."""

    code = "invalid_tus_request"
    title = "The resumable upload request is not valid"


class UploadOffsetMismatch(Conflict):
    """The PATCH starts elsewhere than where the server's bytes end: ask HEAD and resume from there."""

    code = "upload_offset_mismatch"
    title = "Upload-Offset does not match the bytes received"


class UploadChunkTooSmall(InvalidInput):
    """A PATCH that does not finish the upload carries fewer bytes than a storage part needs."""

    code = "upload_chunk_too_small"
    title = "The chunk is smaller than the minimum chunk size"


class ChecksumAlgorithmUnsupported(InvalidInput):
    code = "checksum_algorithm_unsupported"
    title = "The Upload-Checksum algorithm is not supported"


class ChecksumMismatch(InvalidInput):
    """The chunk's bytes do not match its Upload-Checksum: they were discarded (tus answers 460)."""

    code = "checksum_mismatch"
    title = "The chunk does not match its checksum"


class UploadBusy(Conflict):
    """Another request is writing this upload right now."""

    code = "upload_busy"
    title = "Another request is writing this upload"


class UploadProcessingFailed(Gone):
    # Final, not a 503: a client told to retry after Retry-After would read the same answer for 48 h.
    """The worker could not finish a resumable upload (storage or probe kept failing): send it again."""

    code = "upload_processing_failed"
    title = "The upload could not be processed"
