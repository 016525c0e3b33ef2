"""The storage port: one interface for putting, reading and linking to stored files.

Implementations live in :mod:`shared.storage.providers`. They implement the
underscored primitives on *full* keys (provider prefix included); the public
methods here validate keys once, apply the prefix and strip it again, so every
provider enforces the same rules.

Keys are server-generated paths such as ``media/<uuid>/thumb.jpg``, never user file
names; a user's file name only travels as the download name of a presigned URL.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import shutil
import stat
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from shared.storage.errors import InvalidKey, StorageError

DEFAULT_CONTENT_TYPE = "application/octet-stream"
DEFAULT_URL_TTL = timedelta(hours=1)
# S3 signatures (SigV4) cannot live longer than a week; every provider keeps that limit
# so that switching providers never turns a working call into an error.
MAX_URL_TTL = timedelta(days=7)
MAX_KEY_BYTES = 1024
CHUNK_SIZE = 1024 * 1024
# The smallest part of an object written in parts, but for its last (S3's minimum).
MIN_PART_BYTES = 5 * 1024 * 1024

# A segment may not start with a dot: that rules out "." and "..", and leaves dot names
# free for provider internals (temporary files, metadata sidecars) that can never clash
# with a key. The length cap leaves room for those decorations within a 255-byte name.
# Only characters that need no escaping in URLs or shells and mean the same on every
# backend ("+" is read as a space by some S3 gateways, so it is out).
_SEGMENT = re.compile(r"[A-Za-z0-9_~=-][A-Za-z0-9._~=-]{0,199}")
_DOWNLOAD_NAME_SAFE = re.compile(r"[^A-Za-z0-9 ._()+-]")
_MAX_DOWNLOAD_NAME = 150


@dataclass(frozen=True)
class StoredObject:
    """What a provider knows about one stored object.

    ``content_type`` is ``None`` in listings of backends that do not report it there
    (S3); :meth:`StorageProvider.stat` always fills it in.
    """

    key: str
    size: int
    content_type: str | None
    etag: str
    last_modified: datetime | None = None


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative object key; raise :class:`InvalidKey` if not."""
    if not isinstance(key, str) or not key:
        raise InvalidKey("a storage key must be a non-empty string", key=key)
    if len(key.encode()) > MAX_KEY_BYTES:
        raise InvalidKey(f"a storage key may have at most {MAX_KEY_BYTES} bytes", key=key)
    for segment in key.split("/"):
        if not _SEGMENT.fullmatch(segment):
            raise InvalidKey(
                f"storage key {key!r} must be relative '/'-separated segments of letters, digits "
                "and ._~=- that do not start with a dot",
                key=key,
            )
    return key


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` as a folder (``""`` or ending in ``/``); raise :class:`InvalidKey` if unsafe."""
    if prefix == "":
        return ""
    if not isinstance(prefix, str):
        raise InvalidKey("a storage prefix must be a string", key=prefix)
    return validate_key(prefix.removesuffix("/")) + "/"


def sanitize_filename(filename: str) -> str:
    """Return ``filename`` reduced to a harmless base name a browser may save under."""
    # Only the last path component survives: a download must never name a folder.
    name = re.split(r"[/\\]", filename)[-1]
    name = unicodedata.normalize("NFC", name)
    # Control, format and private-use characters can forge headers or hide an extension
    # (U+202E right-to-left override turns "gpj.exe" into "exe.jpg" on screen).
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = " ".join(name.split())
    # Leading dots make hidden files; trailing dots and spaces are dropped by Windows.
    name = name.strip(". ")
    if len(name) > _MAX_DOWNLOAD_NAME:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: _MAX_DOWNLOAD_NAME - len(extension) - 1].rstrip(". ") + "." + extension
        else:
            name = name[:_MAX_DOWNLOAD_NAME].rstrip(". ")
    return name or "download"


def content_disposition(filename: str) -> str:
    """Return an RFC 6266 ``attachment`` header value that saves the download as ``filename``."""
    name = sanitize_filename(filename)
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = _DOWNLOAD_NAME_SAFE.sub("_", fallback).strip(". ") or "download"
    # filename* (RFC 8187) carries the real UTF-8 name; old clients use the ASCII fallback.
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f'attachment; filename="{fallback}"; filename*=UTF-8\'\'{encoded}'


def write_file_atomically(path: str | os.PathLike[str], chunks: Iterable[bytes]) -> int:
    """Write ``chunks`` to ``path`` through a temporary sibling and return the size written.

    Readers see the old file or the complete new one, never a partial write; the
    temporary file is removed when writing fails.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.part")
    # os.open rather than mkstemp: mkstemp forces mode 0600, this honours the umask.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    size = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return size


def fetch_to_file(storage: StorageProvider, key: str, target: Path, *, local: Path | None = None) -> Path:
    """Make the stored object ``key`` the file ``target`` on this host, written aside and renamed into place.

    A hard link when the storage keeps the object on this disk as a plain file, or ``local`` names
    one (a copy across file systems); else the storage's own read, which raises ObjectNotFound when
    the object is gone. Objects are replaced by a rename, never rewritten in place, so a link is
    safe for readers. ``target`` is scratch: nothing is synced, a crash loses it and it is made again.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    partial.unlink(missing_ok=True)
    local = local or storage.local_path(key)
    try:
        if local is None or not stat.S_ISREG(os.lstat(local).st_mode):
            raise FileNotFoundError("not a file of this disk")  # the storage's own read decides what it is
        try:
            partial.hardlink_to(local)
        except FileNotFoundError:
            raise
        except OSError:  # another file system
            shutil.copyfile(local, partial)
    except OSError:
        partial.unlink(missing_ok=True)
        storage.get_to_file(key, partial)
    partial.replace(target)
    return target


def read_chunks(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield ``stream`` in chunks until it is exhausted."""
    while chunk := stream.read(chunk_size):
        yield chunk


class StorageProvider(ABC):
    """A place to keep files under server-generated keys, scoped by a key prefix.

    ``name`` identifies the storage in signed download links; ``prefix`` (a folder
    such as ``tenants/<id>/``) is prepended to every key and stripped from listings,
    so two providers with different prefixes on one backend never see each other.
    """

    def __init__(self, *, name: str = "default", prefix: str = "",
                 default_url_ttl: timedelta = DEFAULT_URL_TTL) -> None:
        self.name = name
        self.prefix = validate_prefix(prefix)
        self.default_url_ttl = _checked_ttl(default_url_ttl)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, prefix={self.prefix!r})"

    def put_file(self, key: str, path: str | os.PathLike[str],
                 content_type: str = DEFAULT_CONTENT_TYPE) -> StoredObject:
        """Store the file at ``path`` under ``key``, replacing any object already there.

        Raises :class:`InvalidKey`, :class:`StorageError`; problems with ``path`` itself
        (say, it does not exist) propagate as :class:`OSError`.
        """
        return self._relative(self._put_file(self._full_key(key), Path(path), content_type))

    def move_file(self, key: str, path: str | os.PathLike[str],
                  content_type: str = DEFAULT_CONTENT_TYPE) -> StoredObject:
        """Store the file at ``path`` under ``key`` and remove it from ``path``.

        A provider on the same disk renames (no second write); the others stream the file
        up and then remove it. The file is left in place when storing fails.
        """
        stored = self._relative(self._move_file(self._full_key(key), Path(path), content_type))
        Path(path).unlink(missing_ok=True)
        return stored

    def local_path(self, key: str) -> Path | None:
        """The object's file on this machine's disk when the provider keeps it there, else None.

        Lets a caller on the same machine link or serve the file (Range requests) instead of
        copying it; never a promise that the file exists.
        """
        self._full_key(key)
        return None

    def put_bytes(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> StoredObject:
        """Store ``data`` under ``key``, replacing any object already there."""
        return self._relative(self._put_bytes(self._full_key(key), bytes(data), content_type))

    def get_to_file(self, key: str, path: str | os.PathLike[str]) -> None:
        """Stream the object to ``path``, written atomically so no partial file is left behind.

        Raises :class:`ObjectNotFound` if missing, :class:`StorageError` if the backend
        fails; problems writing ``path`` propagate as :class:`OSError`.
        """
        self._get_to_file(self._full_key(key), Path(path))

    def open(self, key: str) -> BinaryIO:
        """Return a readable binary stream of the object; the caller must close it.

        Raises :class:`ObjectNotFound` if missing.
        """
        return self._open(self._full_key(key))

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""
        self._delete(self._full_key(key))

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object in the folder ``prefix`` and return how many there were.

        The prefix is a folder: ``media/abc`` deletes ``media/abc/...`` but not
        ``media/abcd``. Raises :class:`InvalidKey` for an empty prefix, which would wipe
        the whole storage.
        """
        folder = validate_prefix(prefix)
        if not folder:
            raise InvalidKey("refusing to delete the whole storage: give a non-empty prefix")
        return self._delete_prefix(self.prefix + folder)

    def exists(self, key: str) -> bool:
        """Return whether an object is stored under ``key``."""
        return self._exists(self._full_key(key))

    def stat(self, key: str) -> StoredObject:
        """Return size, content type and etag of the object; raise :class:`ObjectNotFound` if missing."""
        return self._relative(self._stat(self._full_key(key)))

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Yield the objects in the folder ``prefix`` (all by default) in key order.

        ``media/abc`` lists ``media/abc/...`` but not ``media/abcd``. Raises
        :class:`InvalidKey` at once (not on first iteration) for an unsafe prefix.
        """
        folder = self.prefix + validate_prefix(prefix)
        return (self._relative(stored) for stored in self._list(folder))

    def presigned_url(self, key: str, *, expires: timedelta | None = None,
                      filename: str | None = None) -> str:
        """Return a URL that downloads the object until ``expires`` (default: the provider's TTL).

        With ``filename`` the response carries ``Content-Disposition: attachment`` so the
        browser saves it under that (sanitized) name. The object is not looked up.
        """
        ttl = self.default_url_ttl if expires is None else _checked_ttl(expires)
        download_name = None if filename is None else sanitize_filename(filename)
        return self._presigned_url(validate_key(key), ttl, download_name)

    # -- objects written in parts (resumable uploads): any host may write the next part --------

    def begin_parts(self, key: str, content_type: str = DEFAULT_CONTENT_TYPE) -> str:
        """Start an object written in parts under ``key``; return the handle the next calls take."""
        return self._begin_parts(self._full_key(key), content_type)

    def put_part(self, key: str, handle: str, parts: list[dict[str, Any]], path: str | os.PathLike[str],
                 offset: int) -> list[dict[str, Any]]:
        """Add the file at ``path`` as the bytes from ``offset`` on; return the parts written so far.

        ``parts`` is what the previous call returned (kept by the caller, e.g. in a database
        row): S3 needs every part's etag to complete. Bytes a failed earlier attempt left past
        ``offset`` are replaced. A part other than the last must have at least
        :data:`MIN_PART_BYTES` (the S3 minimum); the caller enforces that.
        """
        return self._put_part(self._full_key(key), handle, list(parts), Path(path), offset)

    def complete_parts(self, key: str, handle: str, parts: list[dict[str, Any]]) -> None:
        """Make the parts written one object under ``key``."""
        self._complete_parts(self._full_key(key), handle, list(parts))

    def abort_parts(self, key: str, handle: str) -> None:
        """Drop an object being written in parts and the parts written so far (idempotent)."""
        self._abort_parts(self._full_key(key), handle)

    def _begin_parts(self, full_key: str, content_type: str) -> str:
        raise StorageError(f"{type(self).__name__} cannot write objects in parts")

    def _put_part(self, full_key: str, handle: str, parts: list[dict[str, Any]], path: Path,
                  offset: int) -> list[dict[str, Any]]:
        raise StorageError(f"{type(self).__name__} cannot write objects in parts")

    def _complete_parts(self, full_key: str, handle: str, parts: list[dict[str, Any]]) -> None:
        raise StorageError(f"{type(self).__name__} cannot write objects in parts")

    def _abort_parts(self, full_key: str, handle: str) -> None:
        self._delete(full_key)

    @abstractmethod
    def check(self) -> None:
        """Probe the backend cheaply; raise :class:`StorageUnavailable` if it cannot serve."""

    @abstractmethod
    def _put_file(self, full_key: str, path: Path, content_type: str) -> StoredObject:
        """Store a file under a full key."""

    def _move_file(self, full_key: str, path: Path, content_type: str) -> StoredObject:
        """Store a file under a full key; :meth:`move_file` removes it afterwards."""
        return self._put_file(full_key, path, content_type)

    @abstractmethod
    def _put_bytes(self, full_key: str, data: bytes, content_type: str) -> StoredObject:
        """Store bytes under a full key."""

    @abstractmethod
    def _get_to_file(self, full_key: str, path: Path) -> None:
        """Stream an object to a local file."""

    @abstractmethod
    def _open(self, full_key: str) -> BinaryIO:
        """Open an object for reading."""

    @abstractmethod
    def _delete(self, full_key: str) -> None:
        """Delete an object if present."""

    @abstractmethod
    def _delete_prefix(self, full_folder: str) -> int:
        """Delete every object whose full key starts with ``full_folder``."""

    @abstractmethod
    def _exists(self, full_key: str) -> bool:
        """Tell whether an object exists."""

    @abstractmethod
    def _stat(self, full_key: str) -> StoredObject:
        """Describe an object (with its full key)."""

    @abstractmethod
    def _list(self, full_folder: str) -> Iterator[StoredObject]:
        """Yield objects (with full keys) whose full key starts with ``full_folder``, in key order."""

    @abstractmethod
    def _presigned_url(self, key: str, expires: timedelta, filename: str | None) -> str:
        """Build a download URL for a key *relative to the prefix*."""

    def _full_key(self, key: str) -> str:
        full_key = self.prefix + validate_key(key)
        if len(full_key.encode()) > MAX_KEY_BYTES:
            raise InvalidKey(f"key and prefix together exceed {MAX_KEY_BYTES} bytes", key=key)
        return full_key

    def _relative(self, stored: StoredObject) -> StoredObject:
        return dataclasses.replace(stored, key=stored.key[len(self.prefix):])


def _checked_ttl(ttl: timedelta) -> timedelta:
    if not timedelta(seconds=1) <= ttl <= MAX_URL_TTL:
        raise ValueError(f"a download URL must live between 1 second and {MAX_URL_TTL}, not {ttl}")
    return ttl
