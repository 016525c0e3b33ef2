"""Submission errors (stable codes; docs/ERRORS.md)."""

from __future__ import annotations

from shared.errors import Conflict, InvalidInput, NotFound, PermanentError, ServiceUnavailable


class SubmissionNotFound(NotFound):
    code = "submission_not_found"
    title = "No such submission"


class PaymentNotExpected(Conflict):
    code = "payment_not_expected"
    title = "This submission does not wait for a payment"


class InvalidTxHash(InvalidInput):
    code = "invalid_tx_hash"
    title = "Not a transaction hash"


class SubmissionNotRetryable(Conflict):
    code = "submission_not_retryable"
    title = "This submission cannot be processed again"


class UploadMissing(PermanentError):
    """A pipeline step found the submission's upload gone (a submission error, never an HTTP answer)."""

    code = "upload_missing"


class TooManyStreams(ServiceUnavailable):
    """More live-status streams than ``SSE_MAX_STREAMS`` here or ``SSE_MAX_STREAMS_PER_WALLET`` for one wallet."""

    code = "too_many_streams"
    title = "Too many live-status streams are open"
