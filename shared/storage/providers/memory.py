"""Storage kept in process memory: the embedded default's scratch space and the tests' backend.

Objects live in a :class:`MemoryBackend`; every :class:`MemoryStorage` built for the
same storage name shares one backend (see :func:`shared_backend`), so the API and
worker threads of one process see the same files.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from shared.storage import signing
from shared.storage.base import (
    DEFAULT_URL_TTL,
    StorageProvider,
    StoredObject,
    read_chunks,
    write_file_atomically,
)
from shared.storage.errors import ObjectNotFound


@dataclass(frozen=True)
class _Blob:
    data: bytes
    content_type: str
    etag: str
    last_modified: datetime


class MemoryBackend:
    """A thread-safe map from full key to object, kept sorted for prefix listings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blobs: dict[str, _Blob] = {}
        self._keys: list[str] = []

    def put(self, full_key: str, data: bytes, content_type: str) -> StoredObject:
        """Store ``data`` under ``full_key``, replacing any previous object."""
        blob = _Blob(data, content_type, hashlib.md5(data, usedforsecurity=False).hexdigest(), datetime.now(UTC))
        with self._lock:
            if full_key not in self._blobs:
                bisect.insort(self._keys, full_key)
            self._blobs[full_key] = blob
        return _described(full_key, blob)

    def get(self, full_key: str) -> _Blob:
        """Return the object under ``full_key``; raise :class:`ObjectNotFound` if missing."""
        with self._lock:
            blob = self._blobs.get(full_key)
        if blob is None:
            raise ObjectNotFound(key=full_key)
        return blob

    def delete(self, full_key: str) -> bool:
        """Remove ``full_key`` and return whether it was there."""
        with self._lock:
            if self._blobs.pop(full_key, None) is None:
                return False
            del self._keys[bisect.bisect_left(self._keys, full_key)]
            return True

    def keys_with_prefix(self, prefix: str) -> list[str]:
        """Return a snapshot of the keys starting with ``prefix``, in order."""
        with self._lock:
            start = bisect.bisect_left(self._keys, prefix)
            end = start
            while end < len(self._keys) and self._keys[end].startswith(prefix):
                end += 1
            return self._keys[start:end]


_BACKENDS: dict[str, MemoryBackend] = {}
_BACKENDS_LOCK = threading.Lock()


def shared_backend(name: str) -> MemoryBackend:
    """Return the one backend of this process for the storage ``name``."""
    with _BACKENDS_LOCK:
        return _BACKENDS.setdefault(name, MemoryBackend())


class MemoryStorage(StorageProvider):
    """Keeps objects in a :class:`MemoryBackend`; download links are HMAC-signed local URLs."""

    def __init__(self, *, name: str = "default", prefix: str = "", backend: MemoryBackend | None = None,
                 public_base_url: str, secret: str, default_url_ttl: timedelta = DEFAULT_URL_TTL) -> None:
        super().__init__(name=name, prefix=prefix, default_url_ttl=default_url_ttl)
        if not secret:
            raise ValueError("MemoryStorage needs a secret to sign download links")
        self.backend = backend if backend is not None else shared_backend(name)
        self.public_base_url = public_base_url
        self._secret = secret

    def check(self) -> None:
        """Succeed: process memory is always reachable."""

    def _put_file(self, full_key: str, path: Path, content_type: str) -> StoredObject:
        with path.open("rb") as source:
            data = b"".join(read_chunks(source))
        return self.backend.put(full_key, data, content_type)

    def _put_bytes(self, full_key: str, data: bytes, content_type: str) -> StoredObject:
        return self.backend.put(full_key, data, content_type)

    def _get_to_file(self, full_key: str, path: Path) -> None:
        data = self.backend.get(full_key).data
        chunks = (data[start:start + 1024 * 1024] for start in range(0, len(data), 1024 * 1024))
        write_file_atomically(path, chunks)

    def _open(self, full_key: str) -> BinaryIO:
        return io.BytesIO(self.backend.get(full_key).data)

    def _delete(self, full_key: str) -> None:
        self.backend.delete(full_key)

    def _delete_prefix(self, full_folder: str) -> int:
        return sum(self.backend.delete(key) for key in self.backend.keys_with_prefix(full_folder))

    def _exists(self, full_key: str) -> bool:
        try:
            self.backend.get(full_key)
        except ObjectNotFound:
            return False
        return True

    def _stat(self, full_key: str) -> StoredObject:
        return _described(full_key, self.backend.get(full_key))

    def _list(self, full_folder: str) -> Iterator[StoredObject]:
        for full_key in self.backend.keys_with_prefix(full_folder):
            try:
                yield _described(full_key, self.backend.get(full_key))
            except ObjectNotFound:
                continue  # deleted since the snapshot was taken

    def _begin_parts(self, full_key: str, content_type: str) -> str:
        self.backend.put(full_key, b"", content_type)
        return ""

    def _put_part(self, full_key: str, handle: str, parts: list[dict[str, Any]], path: Path,
                  offset: int) -> list[dict[str, Any]]:
        blob = self.backend.get(full_key)
        self.backend.put(full_key, blob.data[:offset] + path.read_bytes(), blob.content_type)
        return parts

    def _complete_parts(self, full_key: str, handle: str, parts: list[dict[str, Any]]) -> None:
        self.backend.get(full_key)  # raises ObjectNotFound when it is gone

    def _presigned_url(self, key: str, expires: timedelta, filename: str | None) -> str:
        expires_at = datetime.now(UTC) + expires
        return signing.signed_url(self.public_base_url, self.name, key, expires_at, filename, self._secret)


def _described(full_key: str, blob: _Blob) -> StoredObject:
    return StoredObject(full_key, len(blob.data), blob.content_type, blob.etag, blob.last_modified)
