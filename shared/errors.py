"""One HTTP-neutral error hierarchy.

Every error carries a stable machine ``code`` and a human ``title``. Whether it is
worth retrying is part of the type: workers retry :class:`TransientError` only.
The API maps the categories below to HTTP statuses in exactly one place
(``api/errors.py``).
"""

from __future__ import annotations

from typing import Any


class ShowreelError(Exception):
    code = "error"
    title = "Something went wrong"
    transient = False

    def __init__(self, detail: str | None = None, *, code: str | None = None,
                 title: str | None = None, **extra: Any):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        if title:
            self.title = title
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.detail}


class PermanentError(ShowreelError):
    """Retrying cannot help: bad input, limits, missing things."""


class TransientError(ShowreelError):
    """May succeed later: a dependency is down, a timeout, a lock."""

    transient = True
    code = "temporarily_unavailable"
    title = "A dependency is temporarily unavailable"


# Categories the API maps to statuses.
class InvalidInput(PermanentError):
    code = "invalid_input"
    title = "The request is not valid"


class Unauthorized(PermanentError):
    code = "unauthorized"
    title = "Authentication is required"


class Forbidden(PermanentError):
    code = "forbidden"
    title = "Not allowed"


class NotFound(PermanentError):
    code = "not_found"
    title = "Not found"


class Conflict(PermanentError):
    code = "conflict"
    title = "The request conflicts with the current state"


class Gone(PermanentError):
    """The thing existed but is no more (an expired upload)."""

    code = "gone"
    title = "No longer available"


class PayloadTooLarge(InvalidInput):
    code = "file_too_large"
    title = "The file is too large"


class UnsupportedMediaType(InvalidInput):
    code = "unsupported_media_type"
    title = "This type of file is not supported"


class Unprocessable(InvalidInput):
    code = "unprocessable"
    title = "The content cannot be processed"


class PaymentRequired(PermanentError):
    """A payment was refused (wrong amount, sender, recipient, chain, token, failed tx)."""

    code = "payment_required"
    title = "The payment was not accepted"


class RateLimited(TransientError):
    code = "rate_limited"
    title = "Too many requests"


class ServiceUnavailable(TransientError):
    code = "service_unavailable"
    title = "A dependency is unavailable"


class InsufficientStorage(TransientError):
    """Shared space (the temp area) is full until something is freed."""

    code = "insufficient_storage"
    title = "Not enough storage space right now"
