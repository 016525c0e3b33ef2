"""Media-job errors (stable codes; docs/ERRORS.md)."""

from __future__ import annotations

from shared.errors import Conflict, InvalidInput, NotFound, Unprocessable
from shared.media.errors import UnsupportedMedia


class JobNotFound(NotFound):
    """Unknown job, or another tenant's (other tenants' jobs are not found either)."""

    code = "job_not_found"


class JobNotRetryable(Conflict):
    """Retry of a job that is not failed or canceled, or that failed permanently (bad input)."""

    code = "job_not_retryable"


class AttemptsExhausted(Conflict):
    code = "attempts_exhausted"


class JobNotCancelable(Conflict):
    code = "job_not_cancelable"


class InvalidIdempotencyKey(InvalidInput):
    code = "invalid_idempotency_key"


class IdempotencyKeyReused(Unprocessable):
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used with a different request"


class UnknownPreset(InvalidInput):
    code = "unknown_preset"


class PresetKindMismatch(UnsupportedMedia):
    """The preset does not take this kind of file (an image for ``video_quality``)."""

    code = "preset_kind_mismatch"
