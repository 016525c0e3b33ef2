"""Storage in a folder on local disk, the embedded default.

Each object is a file at ``{root}/{full key}``; its content type and etag sit in a
hidden sidecar ``.{name}.meta`` next to it (keys can never start with a dot, so
sidecars and temporary files never clash with objects). Writes go through a
temporary file and ``os.replace``, so readers never see half a file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import mimetypes
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from shared.storage import signing
from shared.storage.base import (
    DEFAULT_CONTENT_TYPE,
    DEFAULT_URL_TTL,
    StorageProvider,
    StoredObject,
    read_chunks,
    write_file_atomically,
)
from shared.storage.errors import InvalidKey, ObjectNotFound, StorageError, StorageUnavailable

# A concurrent delete may prune a folder between our mkdir and our write; trying again
# recreates it. Three attempts make losing that race repeatedly practically impossible.
_WRITE_ATTEMPTS = 3


class LocalStorage(StorageProvider):
    """Keeps objects as files under ``root``; download links are HMAC-signed local URLs."""

    def __init__(self, root: str | os.PathLike[str], *, name: str = "default", prefix: str = "",
                 public_base_url: str, secret: str, default_url_ttl: timedelta = DEFAULT_URL_TTL) -> None:
        super().__init__(name=name, prefix=prefix, default_url_ttl=default_url_ttl)
        if not secret:
            raise ValueError("LocalStorage needs a secret to sign download links")
        self.root = Path(os.path.realpath(root))
        self.public_base_url = public_base_url
        self._secret = secret

    def __repr__(self) -> str:
        return f"LocalStorage(root={str(self.root)!r}, name={self.name!r}, prefix={self.prefix!r})"

    def check(self) -> None:
        """Create the root if missing and make sure it is a writable folder."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot create storage folder {self.root}: {exc.strerror}") from exc
        if not self.root.is_dir() or not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailable(f"storage folder {self.root} is not a writable folder")

    def _put_file(self, full_key: str, path: Path, content_type: str) -> StoredObject:
        # The caller's own file: its errors (say, it does not exist) are the caller's to see.
        with path.open("rb") as source:
            def chunks() -> Iterator[bytes]:
                source.seek(0)
                yield from read_chunks(source)
            return self._write(full_key, chunks, content_type)

    def _put_bytes(self, full_key: str, data: bytes, content_type: str) -> StoredObject:
        return self._write(full_key, lambda: iter((data,)), content_type)

    def _move_file(self, full_key: str, path: Path, content_type: str) -> StoredObject:
        """Rename the file into place (same file system): a 1 GiB upload is not written twice."""
        target = self._path(full_key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            status = path.stat()
            # Described by size and time, not an MD5 of the content: hashing would read it all again.
            etag = f"{status.st_mtime_ns:x}-{status.st_size:x}"
            write_file_atomically(_sidecar(target), [json.dumps({"content_type": content_type,
                                                                 "etag": etag}).encode()])
            os.replace(path, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise _storage_error("write", full_key, exc) from exc
            return self._put_file(full_key, path, content_type)  # another file system: a copy
        return StoredObject(full_key, status.st_size, content_type, etag, datetime.now(UTC))

    def local_path(self, key: str) -> Path | None:
        return self._path(self._full_key(key))

    def _get_to_file(self, full_key: str, path: Path) -> None:
        with self._open(full_key) as source:
            write_file_atomically(path, read_chunks(source))

    def _open(self, full_key: str) -> BinaryIO:
        target = self._path(full_key)
        try:
            # O_NOFOLLOW: a symlink swapped in after the containment check is refused.
            fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFound() from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ObjectNotFound() from None
            raise _storage_error("read", full_key, exc) from exc
        # A folder opens fine with O_RDONLY on Linux; only regular files are objects.
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ObjectNotFound()
        return os.fdopen(fd, "rb")

    def _delete(self, full_key: str) -> None:
        target = self._path(full_key)
        try:
            target.unlink(missing_ok=True)
            _sidecar(target).unlink(missing_ok=True)
        except (NotADirectoryError, IsADirectoryError):
            return  # nothing stored under this key, only a folder or a file above it
        except OSError as exc:
            raise _storage_error("delete", full_key, exc) from exc
        self._prune(target.parent)

    def _delete_prefix(self, full_folder: str) -> int:
        folder = self._path(full_folder.rstrip("/"))
        deleted = 0
        for stored in self._list(full_folder):
            target = self.root / stored.key
            try:
                target.unlink(missing_ok=True)
                _sidecar(target).unlink(missing_ok=True)
            except OSError as exc:
                raise _storage_error("delete", stored.key, exc) from exc
            deleted += 1
        for directory, _, _ in os.walk(folder, topdown=False):
            self._prune(Path(directory))
        return deleted

    def _exists(self, full_key: str) -> bool:
        return self._path(full_key).is_file()

    def _stat(self, full_key: str) -> StoredObject:
        target = self._path(full_key)
        try:
            status = target.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound() from None
        except OSError as exc:
            raise _storage_error("stat", full_key, exc) from exc
        if not target.is_file():
            raise ObjectNotFound()
        return self._described(full_key, target, status)

    def _list(self, full_folder: str) -> Iterator[StoredObject]:
        start = self._path(full_folder.rstrip("/")) if full_folder else self.root
        yield from self._walk(start, full_folder)

    def _presigned_url(self, key: str, expires: timedelta, filename: str | None) -> str:
        expires_at = datetime.now(UTC) + expires
        return signing.signed_url(self.public_base_url, self.name, key, expires_at, filename, self._secret)

    def _begin_parts(self, full_key: str, content_type: str) -> str:
        # The object grows in place, at its key: parts are appended to the file in storage.
        self._write(full_key, lambda: iter(()), content_type)
        return ""

    def _put_part(self, full_key: str, handle: str, parts: list[dict[str, Any]], path: Path,
                  offset: int) -> list[dict[str, Any]]:
        target = self._path(full_key)
        try:
            fd = os.open(target, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound() from None
        except OSError as exc:
            raise _storage_error("append to", full_key, exc) from exc
        try:
            with os.fdopen(fd, "wb") as handle_file, path.open("rb") as source:
                # What a failed earlier attempt left past the offset is cut off first.
                handle_file.truncate(offset)
                handle_file.seek(offset)
                for chunk in read_chunks(source):
                    handle_file.write(chunk)
                handle_file.flush()
                os.fsync(handle_file.fileno())
        except OSError as exc:
            raise _storage_error("append to", full_key, exc) from exc
        return parts

    def _complete_parts(self, full_key: str, handle: str, parts: list[dict[str, Any]]) -> None:
        target = self._path(full_key)
        status = target.stat()
        described = self._described(full_key, target, status)
        etag = f"{status.st_mtime_ns:x}-{status.st_size:x}"
        write_file_atomically(_sidecar(target), [json.dumps({"content_type": described.content_type,
                                                             "etag": etag}).encode()])

    def _write(self, full_key: str, chunks: Callable[[], Iterable[bytes]], content_type: str) -> StoredObject:
        target = self._path(full_key)
        for attempt in range(1, _WRITE_ATTEMPTS + 1):
            digest = hashlib.md5(usedforsecurity=False)
            try:
                size = write_file_atomically(target, _hashed(chunks(), digest))
                etag = digest.hexdigest()
                meta = json.dumps({"content_type": content_type, "etag": etag}).encode()
                write_file_atomically(_sidecar(target), [meta])
            except (NotADirectoryError, IsADirectoryError, FileExistsError) as exc:
                raise InvalidKey(f"key {full_key!r} collides with a folder or file of another key",
                                 key=full_key) from exc
            except FileNotFoundError as exc:
                if attempt == _WRITE_ATTEMPTS:
                    raise _storage_error("write", full_key, exc) from exc
                continue
            except OSError as exc:
                raise _storage_error("write", full_key, exc) from exc
            return StoredObject(full_key, size, content_type, etag, datetime.now(UTC))
        raise AssertionError("unreachable")

    def _path(self, full_key: str) -> Path:
        target = self.root / full_key
        # Keys cannot contain "..", but a symlink inside the root could still lead out of it.
        real = os.path.realpath(target)
        if real != str(self.root) and not real.startswith(str(self.root) + os.sep):
            raise InvalidKey(f"key {full_key!r} leads outside the storage folder", key=full_key)
        return target

    def _walk(self, directory: Path, relative: str) -> Iterator[StoredObject]:
        try:
            with os.scandir(directory) as scan:
                entries = [entry for entry in scan if not entry.name.startswith(".")]
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise _storage_error("list", relative, exc) from exc
        # Sorting folders as "name/" yields the byte order of full keys, the order S3 lists in.
        entries.sort(key=lambda entry: entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name)
        for entry in entries:
            full_key = relative + entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path), full_key + "/")
            elif entry.is_file(follow_symlinks=False):
                try:
                    status = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # deleted while we were listing
                yield self._described(full_key, Path(entry.path), status)

    def _described(self, full_key: str, target: Path, status: os.stat_result) -> StoredObject:
        try:
            meta = json.loads(_sidecar(target).read_bytes())
            content_type, etag = str(meta["content_type"]), str(meta["etag"])
        except (OSError, ValueError, KeyError, TypeError):
            # A file placed by hand (or a torn sidecar): describe it from what the disk knows.
            content_type = mimetypes.guess_type(target.name)[0] or DEFAULT_CONTENT_TYPE
            etag = f"{status.st_mtime_ns:x}-{status.st_size:x}"
        modified = datetime.fromtimestamp(status.st_mtime, UTC)
        return StoredObject(full_key, status.st_size, content_type, etag, modified)

    def _prune(self, directory: Path) -> None:
        # Empty folders are removed up to the root; rmdir refuses non-empty ones, so a
        # concurrent write into the folder wins and is retried by _write if it lost.
        while directory != self.root and directory.is_relative_to(self.root):
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent


def _sidecar(target: Path) -> Path:
    return target.with_name(f".{target.name}.meta")


def _hashed(chunks: Iterable[bytes], digest: Any) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def _storage_error(action: str, full_key: str, exc: OSError) -> StorageError:
    return StorageError(f"cannot {action} {full_key!r} in local storage: {exc.strerror or exc}")
