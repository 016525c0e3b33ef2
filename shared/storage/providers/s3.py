"""Storage in an S3 bucket (MinIO or any S3) through the ``minio`` client.

Every minio and urllib3 exception is translated here: callers only ever see
:mod:`shared.storage.errors`. Download links are native S3 presigned URLs, signed for
``public_url`` when the S3 API the servers use (``minio:9000``) is not the one browsers reach.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from minio.datatypes import Part
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error
from urllib3.util import Retry, Timeout

from shared.storage.base import (
    CHUNK_SIZE,
    DEFAULT_URL_TTL,
    StorageProvider,
    StoredObject,
    content_disposition,
    write_file_atomically,
)
from shared.storage.errors import ObjectNotFound, StorageError, StorageUnavailable

_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchObject", "NoSuchBucket", "NoSuchVersion"})
# Credentials or permissions problems: retrying does not help until someone fixes the
# configuration, but to callers the storage is simply not usable right now.
_UNUSABLE = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                       "AuthorizationHeaderMalformed", "InvalidBucketName", "AllAccessDisabled"})
_ALREADY_EXISTS = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
_NETWORK_ERRORS = (urllib3.exceptions.HTTPError, OSError)
# A part is read into memory to be sent: larger bodies are sent as several parts of at most this.
_MAX_PART_BYTES = 32 * 1024 * 1024


class S3Storage(StorageProvider):
    """Keeps objects in one bucket; the bucket is created on first write when missing.

    A missing bucket reads as an empty storage (not found, empty listings) so a fresh
    deployment works before anything was uploaded.
    """

    def __init__(self, *, endpoint: str, bucket: str, access_key: str = "", secret_key: str = "",
                 region: str = "us-east-1", secure: bool = False, name: str = "default", prefix: str = "",
                 default_url_ttl: timedelta = DEFAULT_URL_TTL, timeout: float = 60.0,
                 public_url: str = "") -> None:
        super().__init__(name=name, prefix=prefix, default_url_ttl=default_url_ttl)
        self.endpoint = endpoint
        self.bucket = bucket
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()
        # minio's own pool retries 5 times and waits 5 minutes per read; a request path
        # wants fewer retries and a bound on a stuck server instead.
        self._client = _client(endpoint, access_key, secret_key, region, secure,
                               timeout=Timeout(connect=min(10.0, timeout), read=timeout),
                               retries=Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]))
        # Readiness probes must answer quickly, so their client never retries.
        self._probe = _client(endpoint, access_key, secret_key, region, secure,
                              timeout=Timeout(connect=2.0, read=5.0), retries=Retry(total=0, redirect=0))
        # SigV4 covers the Host header, so a link for browsers must be signed for the public host
        # itself; rewriting the host of a link signed for the internal endpoint breaks the signature.
        # Signing is local: the region is always given, so minio never asks that host anything.
        self._signer = self._client
        if public_url:
            public_host, public_secure = public_endpoint(public_url)
            self._signer = _client(public_host, access_key, secret_key, region or "us-east-1", public_secure,
                                   timeout=Timeout(connect=2.0, read=5.0), retries=Retry(total=0))

    def __repr__(self) -> str:
        return f"S3Storage(endpoint={self.endpoint!r}, bucket={self.bucket!r}, prefix={self.prefix!r})"

    def check(self) -> None:
        """Make sure the bucket is reachable, creating it when missing."""
        try:
            with _translated("reach the bucket", self.bucket):
                self._ensure_bucket(self._probe, force=True)
        except StorageError as exc:
            raise StorageUnavailable(exc.detail) from exc

    def _put_file(self, full_key: str, path: Path, content_type: str) -> StoredObject:
        # Opened outside the translation: a problem with the caller's file is theirs to see.
        with path.open("rb") as source:
            size = os.fstat(source.fileno()).st_size
            return self._put(full_key, source, size, content_type)

    def _put_bytes(self, full_key: str, data: bytes, content_type: str) -> StoredObject:
        return self._put(full_key, io.BytesIO(data), len(data), content_type)

    def _get_to_file(self, full_key: str, path: Path) -> None:
        with self._open(full_key) as source:
            write_file_atomically(path, iter(lambda: source.read(CHUNK_SIZE), b""))

    def _open(self, full_key: str) -> BinaryIO:
        with _translated("read", full_key):
            response = self._client.get_object(self.bucket, full_key)
        return io.BufferedReader(_ObjectStream(response, full_key), buffer_size=CHUNK_SIZE)

    def _delete(self, full_key: str) -> None:
        try:
            with _translated("delete", full_key):
                self._client.remove_object(self.bucket, full_key)
        except ObjectNotFound:
            return  # only a missing bucket gets here: S3 deletes of missing keys succeed

    def _delete_prefix(self, full_folder: str) -> int:
        listed = 0

        def doomed() -> Iterator[DeleteObject]:
            nonlocal listed
            for stored in self._list(full_folder):
                listed += 1
                yield DeleteObject(stored.key)

        with _translated("delete the folder", full_folder):
            # remove_objects is lazy: the deletes happen while its error iterator is consumed.
            errors = list(self._client.remove_objects(self.bucket, doomed()))
        if errors:
            first = errors[0]
            raise StorageError(f"could not delete {len(errors)} of {listed} objects under {full_folder!r}: "
                               f"{first.name}: {first.code}")
        return listed

    def _exists(self, full_key: str) -> bool:
        try:
            self._stat(full_key)
        except ObjectNotFound:
            return False
        return True

    def _stat(self, full_key: str) -> StoredObject:
        with _translated("stat", full_key):
            found = self._client.stat_object(self.bucket, full_key)
        return StoredObject(full_key, found.size or 0, found.content_type, found.etag or "", found.last_modified)

    def _list(self, full_folder: str) -> Iterator[StoredObject]:
        try:
            with _translated("list", full_folder):
                for found in self._client.list_objects(self.bucket, prefix=full_folder or None, recursive=True):
                    if found.object_name is None or found.is_dir:
                        continue
                    # Listings carry no content type; asking for each would cost a request per object.
                    yield StoredObject(found.object_name, found.size or 0, None, found.etag or "",
                                       found.last_modified)
        except ObjectNotFound:
            return  # the bucket does not exist yet: nothing stored

    def _presigned_url(self, key: str, expires: timedelta, filename: str | None) -> str:
        headers = {"response-content-disposition": content_disposition(filename)} if filename else None
        # Signing is local (the region is configured, so no bucket-location request is made).
        with _translated("sign a link to", key):
            return self._signer.presigned_get_object(self.bucket, self.prefix + key, expires=expires,
                                                     response_headers=headers)

    # minio has no public call for multipart uploads one part at a time (its put_object does
    # them all in one go), so these use its internal ones; constraints.txt pins the version.
    def _begin_parts(self, full_key: str, content_type: str) -> str:
        with _translated("start a multipart upload of", full_key):
            self._ensure_bucket(self._client)
            return self._client._create_multipart_upload(self.bucket, full_key, {"Content-Type": content_type})

    def _put_part(self, full_key: str, handle: str, parts: list[dict[str, Any]], path: Path,
                  offset: int) -> list[dict[str, Any]]:
        # Parts written past this offset by a failed attempt are written again under the same numbers.
        parts = [part for part in parts if part["end"] <= offset]
        size = path.stat().st_size
        pieces = max(1, -(-size // _MAX_PART_BYTES))  # equal pieces: each >= 5 MiB when the whole is
        with path.open("rb") as source, _translated("write a part of", full_key):
            for index in range(pieces):
                data = source.read(size // pieces + (1 if index < size % pieces else 0))
                number = len(parts) + 1
                etag = self._client._upload_part(self.bucket, full_key, data, None, handle, number)
                offset += len(data)
                parts.append({"number": number, "etag": etag, "end": offset})
        return parts

    def _complete_parts(self, full_key: str, handle: str, parts: list[dict[str, Any]]) -> None:
        with _translated("complete the multipart upload of", full_key):
            self._client._complete_multipart_upload(
                self.bucket, full_key, handle, [Part(part["number"], part["etag"]) for part in parts])

    def _abort_parts(self, full_key: str, handle: str) -> None:
        try:
            with _translated("abort the multipart upload of", full_key):
                self._client._abort_multipart_upload(self.bucket, full_key, handle)
        except ObjectNotFound:
            pass  # aborted or completed already
        except StorageError as exc:
            if "NoSuchUpload" not in exc.detail:
                raise
        self._delete(full_key)

    def _put(self, full_key: str, data: BinaryIO, size: int, content_type: str) -> StoredObject:
        with _translated("write", full_key):
            self._ensure_bucket(self._client)
            try:
                written = self._client.put_object(self.bucket, full_key, data, size, content_type=content_type)
            except S3Error as exc:
                if exc.code != "NoSuchBucket":
                    raise
                # Deleted behind our back: the next attempt (a retry) creates it again.
                self._bucket_ready = False
                raise StorageError(f"bucket {self.bucket!r} disappeared; the next write recreates it") from exc
        return StoredObject(full_key, size, content_type, written.etag or "", written.last_modified)

    def _ensure_bucket(self, client: Minio, *, force: bool = False) -> None:
        if self._bucket_ready and not force:
            return
        with self._bucket_lock:
            if self._bucket_ready and not force:
                return
            if not client.bucket_exists(self.bucket):
                try:
                    client.make_bucket(self.bucket)
                except S3Error as exc:
                    # Another process may have created it between our check and our create.
                    if exc.code not in _ALREADY_EXISTS:
                        raise
            self._bucket_ready = True


class _ObjectStream(io.RawIOBase):
    """A GetObject response as a raw stream that frees its connection on close."""

    def __init__(self, response: Any, full_key: str) -> None:
        super().__init__()
        self._response = response
        self._full_key = full_key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with _translated("read", self._full_key):
            # decode_content=False: hand out the stored bytes even if a Content-Encoding was set.
            data = self._response.read(len(buffer), decode_content=False)
        size = len(data)
        buffer[:size] = data
        return size

    def close(self) -> None:
        if not self.closed:
            try:
                self._response.close()
                self._response.release_conn()
            finally:
                super().close()


@contextmanager
def _translated(action: str, key: str) -> Iterator[None]:
    """Turn minio and urllib3 failures into storage errors."""
    try:
        yield
    except S3Error as exc:
        if exc.code in _NOT_FOUND:
            raise ObjectNotFound() from exc
        message = f"S3 could not {action} {key!r}: {exc.code}: {exc.message}"
        if exc.code in _UNUSABLE:
            raise StorageUnavailable(message) from exc
        raise StorageError(message) from exc
    except MinioException as exc:
        raise StorageError(f"S3 could not {action} {key!r}: {exc}") from exc
    except _NETWORK_ERRORS as exc:
        raise StorageUnavailable(f"S3 could not {action} {key!r}: {type(exc).__name__}: {exc}") from exc


def public_endpoint(public_url: str) -> tuple[str, bool]:
    """``(host[:port], https?)`` of a public S3 base URL; raises ValueError for anything else.

    A path is refused: the signature covers the path as well, so a proxy that strips a
    prefix (``https://example.com/s3/...``) would break every link.
    """
    parts = urlsplit(public_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{public_url!r} is not an http(s) URL such as https://media.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{public_url!r} must be a scheme and host only (no path, query or credentials)")
    return parts.netloc, parts.scheme == "https"


def _client(endpoint: str, access_key: str, secret_key: str, region: str, secure: bool, *,
            timeout: Timeout, retries: Retry) -> Minio:
    http = urllib3.PoolManager(timeout=timeout, retries=retries, maxsize=20,
                               cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())
    return Minio(endpoint, access_key=access_key or None, secret_key=secret_key or None,
                 secure=secure, region=region or None, http_client=http)
