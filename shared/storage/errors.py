"""Errors every storage provider raises, whatever its backend.

Providers translate vendor exceptions (minio, urllib3, OSError) into these at the
boundary so that callers, workers and the API see one vocabulary.
"""

from __future__ import annotations

from shared.errors import Forbidden, InvalidInput, NotFound, TransientError


class StorageError(TransientError):
    """The storage backend failed; trying again later may succeed."""

    code = "storage_unavailable"
    title = "File storage is temporarily unavailable"


class StorageUnavailable(StorageError):
    """The storage backend cannot be reached or is not usable right now."""


class ObjectNotFound(NotFound):
    """No object is stored under the key."""

    code = "object_not_found"
    title = "The file does not exist"


class InvalidKey(InvalidInput):
    """A storage key or prefix is not a safe, server-generated path."""

    code = "invalid_storage_key"
    title = "The storage key is not valid"


class InvalidSignature(Forbidden):
    """A signed download link was altered or signed with another key."""

    code = "invalid_download_link"
    title = "The download link is not valid"


class LinkExpired(Forbidden):
    """A signed download link was genuine but its time is up."""

    code = "expired_download_link"
    title = "The download link has expired"
