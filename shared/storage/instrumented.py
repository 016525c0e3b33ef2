"""A storage decorator: every call goes to the provider it wraps, writes are observed.

It is a real :class:`StorageProvider` (same name, prefix and link lifetime as the one it
wraps), so it passes wherever a provider does; a new provider method is inherited from
the base class and reaches the wrapped provider through its ``_`` hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from shared.storage import PROVIDERS, provider_class
from shared.storage.base import StorageProvider, StoredObject


class InstrumentedStorage(StorageProvider):
    """``inner`` with each ``put_file`` run inside ``timer(provider_name)`` (say, a metrics timer)."""

    def __init__(self, inner: StorageProvider, timer: Callable[[str], AbstractContextManager[Any]]) -> None:
        super().__init__(name=inner.name, prefix=inner.prefix, default_url_ttl=inner.default_url_ttl)
        self.inner = inner
        self.provider = provider_name(inner)
        self._timer = timer

    def _put_file(self, full_key: str, path: Path, content_type: str) -> StoredObject:
        with self._timer(self.provider):
            return self.inner._put_file(full_key, path, content_type)

    # -- everything else is the wrapped provider's (keys are full keys: the prefixes are equal) --

    def check(self) -> None:
        self.inner.check()

    def local_path(self, key: str) -> Path | None:
        return self.inner.local_path(key)

    def _move_file(self, full_key: str, path: Path, content_type: str) -> StoredObject:
        return self.inner._move_file(full_key, path, content_type)

    def _put_bytes(self, full_key: str, data: bytes, content_type: str) -> StoredObject:
        return self.inner._put_bytes(full_key, data, content_type)

    def _get_to_file(self, full_key: str, path: Path) -> None:
        self.inner._get_to_file(full_key, path)

    def _open(self, full_key: str) -> BinaryIO:
        return self.inner._open(full_key)

    def _delete(self, full_key: str) -> None:
        self.inner._delete(full_key)

    def _delete_prefix(self, full_folder: str) -> int:
        return self.inner._delete_prefix(full_folder)

    def _exists(self, full_key: str) -> bool:
        return self.inner._exists(full_key)

    def _stat(self, full_key: str) -> StoredObject:
        return self.inner._stat(full_key)

    def _list(self, full_folder: str) -> Iterator[StoredObject]:
        return self.inner._list(full_folder)

    def _presigned_url(self, key: str, expires: timedelta, filename: str | None) -> str:
        return self.inner._presigned_url(key, expires, filename)

    def _begin_parts(self, full_key: str, content_type: str) -> str:
        return self.inner._begin_parts(full_key, content_type)

    def _put_part(self, full_key: str, handle: str, parts: list[dict[str, Any]], path: Path,
                  offset: int) -> list[dict[str, Any]]:
        return self.inner._put_part(full_key, handle, parts, path, offset)

    def _complete_parts(self, full_key: str, handle: str, parts: list[dict[str, Any]]) -> None:
        self.inner._complete_parts(full_key, handle, parts)

    def _abort_parts(self, full_key: str, handle: str) -> None:
        self.inner._abort_parts(full_key, handle)


def provider_name(storage: StorageProvider) -> str:
    """The PROVIDERS name of ``storage`` (of the provider it wraps, for a decorator)."""
    while isinstance(storage, InstrumentedStorage):
        storage = storage.inner
    for name in PROVIDERS:
        if isinstance(storage, provider_class(name)):
            return name
    return type(storage).__name__.lower()
