"""Storage on Yandex Disk through its REST API (``https://cloud-api.yandex.net/v1/disk``).

Every object is a file at ``{root}/{full key}`` (root such as ``app:/showreel``):
- put: ``GET /resources/upload`` hands out an upload URL, the bytes go there with
  ``PUT``; missing parent folders are made with ``PUT /resources`` and the upload is
  asked for again; the content type is kept in the file's ``custom_properties``
  (``PATCH /resources``) because Yandex Disk guesses its own ``mime_type``;
- read: ``GET /resources/download`` hands out a download URL that is streamed;
- stat, exists and list: ``GET /resources`` (folders page through ``_embedded``);
- delete: ``DELETE /resources?permanently=true`` (files only: a key never names a folder).

Download links are HMAC-signed ``/files/...`` links, like the local provider's, and the
web route streams the object: Yandex's own download URLs cannot carry an expiry or a
download file name. Every ``requests`` exception is translated here.

The upload and download URLs come from the API's answers, so they are treated like
webhook callback URLs (``shared.netsafe``): every connection, to the API or to such a
URL, goes to addresses resolved and checked just before it (pinned: no second DNS
lookup), non-public addresses are refused unless ``allow_private`` (local testing),
and the OAuth token goes to the API's own origin only. A download URL answers with a redirect
to a storage node: up to ``_MAX_REDIRECTS`` of them are followed by hand, each hop resolved,
checked and pinned like the first (and given the token only on the API's origin); requests
itself never follows one, and uploads follow none.
"""

from __future__ import annotations

import hashlib
import io
import socket
import threading
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.poolmanager import SSL_KEYWORDS
from urllib3.util import connection as urllib3_connection

from shared.netsafe import UnsafeTarget, resolve_target
from shared.storage import signing
from shared.storage.base import (
    CHUNK_SIZE,
    DEFAULT_URL_TTL,
    StorageProvider,
    StoredObject,
    write_file_atomically,
)
from shared.storage.errors import InvalidKey, ObjectNotFound, StorageError, StorageUnavailable

DEFAULT_BASE_URL = "https://cloud-api.yandex.net"
_PAGE = 1000
# Credentials or permissions: retrying does not help until someone fixes the connection.
_UNUSABLE = {401, 402, 403}
_REDIRECTS = {301, 302, 303, 307, 308}
_MAX_REDIRECTS = 5


class YandexDiskStorage(StorageProvider):
    """Keeps objects as files under ``root`` on one Yandex Disk (OAuth token)."""

    def __init__(self, *, token: str, root: str = "app:/showreel", base_url: str = DEFAULT_BASE_URL,
                 name: str = "default", prefix: str = "", public_base_url: str, secret: str,
                 default_url_ttl: timedelta = DEFAULT_URL_TTL, timeout: float = 60.0,
                 allow_private: bool = False, resolve=socket.getaddrinfo) -> None:
        super().__init__(name=name, prefix=prefix, default_url_ttl=default_url_ttl)
        if not token:
            raise ValueError("YandexDiskStorage needs an OAuth token")
        if not secret:
            raise ValueError("YandexDiskStorage needs a secret to sign download links")
        stripped = root.rstrip("/")
        self.root = stripped + "/" if stripped.endswith(":") else stripped
        self.api = base_url.rstrip("/") + "/v1/disk"
        self.public_base_url = public_base_url
        self._secret = secret
        self._timeout = (min(10.0, timeout), timeout)
        self._origin = _origin(self.api)
        self._auth = {"Authorization": f"OAuth {token}"}
        self._http = requests.Session()
        self._http.trust_env = False  # no proxies or .netrc: connections go to the pinned addresses
        adapter = PinnedAdapter(allow_private=allow_private, resolve=resolve)
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)
        self._folders: set[str] = set()
        self._folders_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"YandexDiskStorage(root={self.root!r}, name={self.name!r}, prefix={self.prefix!r})"

    def check(self) -> None:
        """Make sure the disk answers with these credentials and the root folder exists."""
        response = self._call("GET", "", "reach the disk", self.root)
        if response.status_code != 200:
            raise StorageUnavailable(f"Yandex Disk answered {response.status_code} to a disk query")
        try:
            self._ensure_folder(self.root)
        except StorageError as exc:
            raise StorageUnavailable(exc.detail) from exc

    def _put_file(self, full_key: str, path: Path, content_type: str) -> StoredObject:
        # Opened outside the translation: a problem with the caller's file is theirs to see.
        with path.open("rb") as source:
            digest = hashlib.md5(usedforsecurity=False)
            for chunk in iter(lambda: source.read(CHUNK_SIZE), b""):
                digest.update(chunk)
            size = source.tell()
            source.seek(0)
            return self._put(full_key, source, size, digest.hexdigest(), content_type)

    def _put_bytes(self, full_key: str, data: bytes, content_type: str) -> StoredObject:
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        return self._put(full_key, io.BytesIO(data), len(data), etag, content_type)

    def _get_to_file(self, full_key: str, path: Path) -> None:
        with self._open(full_key) as source:
            write_file_atomically(path, iter(lambda: source.read(CHUNK_SIZE), b""))

    def _open(self, full_key: str) -> BinaryIO:
        link = self._link("download", full_key, "read")
        response = self._fetch("GET", link, "read", full_key, stream=True)
        if response.status_code == 404:
            response.close()
            raise ObjectNotFound()
        if response.status_code != 200:
            response.close()
            raise StorageError(f"Yandex Disk answered {response.status_code} to a download of {full_key!r}")
        return io.BufferedReader(_Download(response, full_key), buffer_size=CHUNK_SIZE)

    def _delete(self, full_key: str) -> None:
        meta = self._meta(full_key, "delete", fields="type")
        if meta is None or meta.get("type") != "file":
            return  # nothing stored, or a folder of other keys: a key never names a folder
        response = self._call("DELETE", "/resources", "delete", full_key,
                              params={"path": self._path(full_key), "permanently": "true"})
        if response.status_code not in (202, 204, 404):
            raise _answer_error("delete", full_key, response)

    def _delete_prefix(self, full_folder: str) -> int:
        deleted = 0
        for stored in list(self._list(full_folder)):
            self._delete(stored.key)
            deleted += 1
        return deleted

    def _exists(self, full_key: str) -> bool:
        meta = self._meta(full_key, "stat", fields="type")
        return meta is not None and meta.get("type") == "file"

    def _stat(self, full_key: str) -> StoredObject:
        meta = self._meta(full_key, "stat")
        if meta is None or meta.get("type") != "file":
            raise ObjectNotFound()
        return self._described(full_key, meta)

    def _list(self, full_folder: str) -> Iterator[StoredObject]:
        yield from self._walk(full_folder)

    def _presigned_url(self, key: str, expires: timedelta, filename: str | None) -> str:
        expires_at = datetime.now(UTC) + expires
        return signing.signed_url(self.public_base_url, self.name, key, expires_at, filename, self._secret)

    # ---- the REST calls ------------------------------------------------------------------

    def _put(self, full_key: str, data: BinaryIO, size: int, etag: str, content_type: str) -> StoredObject:
        href = self._upload_link(full_key)
        response = self._fetch("PUT", href, "write", full_key, data=data, headers={"Content-Length": str(size)})
        if response.status_code not in (200, 201, 202):
            raise _answer_error("write", full_key, response)
        patched = self._call("PATCH", "/resources", "describe", full_key, params={"path": self._path(full_key)},
                             json={"custom_properties": {"content_type": content_type}})
        if patched.status_code != 200:
            raise _answer_error("describe", full_key, patched)
        return StoredObject(full_key, size, content_type, etag, datetime.now(UTC))

    def _upload_link(self, full_key: str) -> str:
        params = {"path": self._path(full_key), "overwrite": "true"}
        response = self._call("GET", "/resources/upload", "write", full_key, params=params)
        if response.status_code == 409 and _error_name(response) == "DiskPathDoesntExistsError":
            self._ensure_parents(full_key)
            response = self._call("GET", "/resources/upload", "write", full_key, params=params)
        if response.status_code == 409:
            raise InvalidKey(f"key {full_key!r} collides with a folder or file of another key", key=full_key)
        if response.status_code != 200:
            raise _answer_error("write", full_key, response)
        return _href(response, "write", full_key)

    def _link(self, kind: str, full_key: str, action: str) -> str:
        response = self._call("GET", f"/resources/{kind}", action, full_key, params={"path": self._path(full_key)})
        if response.status_code == 404:
            raise ObjectNotFound()
        if response.status_code != 200:
            raise _answer_error(action, full_key, response)
        return _href(response, action, full_key)

    def _meta(self, full_key: str, action: str, *, fields: str | None = None) -> dict[str, Any] | None:
        params = {"path": self._path(full_key), "limit": "0"}
        if fields:
            params["fields"] = fields
        response = self._call("GET", "/resources", action, full_key, params=params)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _answer_error(action, full_key, response)
        return _json(response, action, full_key)

    def _walk(self, full_folder: str) -> Iterator[StoredObject]:
        offset = 0
        entries: list[dict[str, Any]] = []
        path = self._path(full_folder.rstrip("/")) if full_folder else self.root
        while True:
            response = self._call("GET", "/resources", "list", full_folder,
                                  params={"path": path, "limit": str(_PAGE), "offset": str(offset)})
            if response.status_code == 404:
                return
            if response.status_code != 200:
                raise _answer_error("list", full_folder, response)
            body = _json(response, "list", full_folder)
            if body.get("type") != "dir":
                return
            items = (body.get("_embedded") or {}).get("items") or []
            entries.extend(items)
            offset += len(items)
            if not items or offset >= int((body.get("_embedded") or {}).get("total", offset)):
                break
        # Sorting folders as "name/" yields the byte order of full keys, the order S3 lists in.
        entries.sort(key=lambda item: item["name"] + "/" if item.get("type") == "dir" else item["name"])
        for item in entries:
            if item["name"].startswith("."):
                continue
            full_key = full_folder + item["name"]
            if item.get("type") == "dir":
                yield from self._walk(full_key + "/")
            else:
                yield self._described(full_key, item)

    def _ensure_parents(self, full_key: str) -> None:
        parts = full_key.split("/")[:-1]
        self._ensure_folder(self.root)
        for depth in range(1, len(parts) + 1):
            self._ensure_folder(self._path("/".join(parts[:depth])))

    def _ensure_folder(self, path: str) -> None:
        if path.endswith((":/", ":")):
            return  # the disk root or the app folder root always exists
        with self._folders_lock:
            if path in self._folders:
                return
        response = self._call("PUT", "/resources", "make the folder", path, params={"path": path})
        if response.status_code == 409 and _error_name(response) == "DiskPathPointsToExistentDirectoryError":
            pass
        elif response.status_code == 409:
            raise InvalidKey(f"folder {path!r} collides with a stored file", key=path)
        elif response.status_code != 201:
            raise _answer_error("make the folder", path, response)
        with self._folders_lock:
            self._folders.add(path)

    def _fetch(self, method: str, url: str, action: str, key: str, **kwargs: Any) -> requests.Response:
        """One request to an upload or download URL the API handed out, a download's redirects followed."""
        headers = kwargs.pop("headers", {})
        for _ in range(_MAX_REDIRECTS + 1):
            # The token only on the API's origin: a storage node or a hop elsewhere never sees it.
            hop_headers = {**headers, **self._auth} if _origin(url) == self._origin else headers
            response = self._send(method, url, action, key, headers=hop_headers, **kwargs)
            if method != "GET" or response.status_code not in _REDIRECTS or not response.headers.get("Location"):
                return response
            response.close()
            url = urljoin(url, response.headers["Location"])  # checked and pinned by _send like the first
        raise StorageError(f"Yandex Disk redirected a {action} of {key!r} more than {_MAX_REDIRECTS} times")

    def _send(self, method: str, url: str, action: str, key: str, **kwargs: Any) -> requests.Response:
        try:
            return self._http.request(method, url, timeout=self._timeout, allow_redirects=False, **kwargs)
        except UnsafeTarget as refused:
            raise StorageUnavailable(f"Yandex Disk could not {action} {key!r}: the address of "
                                     f"{urlsplit(url).hostname!r} is refused ({refused.code})") from None
        except requests.RequestException as exc:
            raise _unavailable(action, key, exc) from exc

    def _call(self, method: str, endpoint: str, action: str, key: str, **kwargs: Any) -> requests.Response:
        response = self._send(method, self.api + endpoint, action, key, headers=self._auth, **kwargs)
        if response.status_code in _UNUSABLE:
            raise StorageUnavailable(f"Yandex Disk refused to {action} {key!r}: {response.status_code} "
                                     f"{_error_name(response)}")
        return response

    def _path(self, full_key: str) -> str:
        return f"{self.root}/{full_key}" if not self.root.endswith("/") else self.root + full_key

    def _described(self, full_key: str, meta: dict[str, Any]) -> StoredObject:
        properties = meta.get("custom_properties") or {}
        content_type = properties.get("content_type") or meta.get("mime_type") or "application/octet-stream"
        modified = meta.get("modified")
        return StoredObject(full_key, int(meta.get("size") or 0), content_type, meta.get("md5") or "",
                            datetime.fromisoformat(modified) if modified else None)


class PinnedAdapter(HTTPAdapter):
    """Connects only to the addresses ``shared.netsafe`` resolved and checked for each request.

    The pool of a host is kept while its name resolves to the same addresses (keep-alive);
    TLS still verifies the certificate against the host name.
    """

    MAX_POOLS = 16

    def __init__(self, *, allow_private: bool = False, resolve=socket.getaddrinfo) -> None:
        super().__init__(max_retries=0)
        self._allow_private = allow_private
        self._resolve = resolve
        self._pools: OrderedDict[tuple, HTTPConnectionPool] = OrderedDict()
        self._pools_lock = threading.Lock()

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None) -> HTTPConnectionPool:
        target = resolve_target(request.url, allow_private=self._allow_private, resolve=self._resolve)
        _, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        # The settings' values belong in the key (verify on or off, which CA bundle, which client cert).
        settings = tuple(sorted((name, repr(value)) for name, value in pool_kwargs.items()))
        pool_key = (target.scheme, target.host, target.port, target.addresses, settings)
        with self._pools_lock:
            pool = self._pools.get(pool_key)
            if pool is not None:
                self._pools.move_to_end(pool_key)
                return pool
            if target.scheme == "https":
                pool = _PinnedHTTPSPool(target.host, target.port, maxsize=10, pinned=target.addresses, **pool_kwargs)
            else:
                plain = {k: v for k, v in pool_kwargs.items() if k not in SSL_KEYWORDS}
                pool = _PinnedHTTPPool(target.host, target.port, maxsize=10, pinned=target.addresses, **plain)
            self._pools[pool_key] = pool
            while len(self._pools) > self.MAX_POOLS:
                self._pools.popitem(last=False)[1].close()
            return pool

    def close(self) -> None:
        with self._pools_lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()
        super().close()


class _PinnedConnectionMixin:
    """A urllib3 connection whose socket goes to pinned addresses instead of a fresh DNS answer."""

    def __init__(self, *args: Any, pinned: tuple = (), **kwargs: Any) -> None:
        self._pinned = pinned
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        last: OSError = OSError("no address to connect to")
        for _family, sockaddr in self._pinned:
            try:
                return urllib3_connection.create_connection(
                    (sockaddr[0], self.port), self.timeout, source_address=self.source_address,
                    socket_options=self.socket_options)
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out") from exc
            except OSError as exc:
                last = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")


class _PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _Download(io.RawIOBase):
    """A streamed download as a raw stream that frees its connection on close."""

    def __init__(self, response: requests.Response, full_key: str) -> None:
        super().__init__()
        self._response = response
        self._full_key = full_key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._response.raw.read(len(buffer), decode_content=True)
        except Exception as exc:  # urllib3's protocol errors as well as OSError
            raise StorageError(f"Yandex Disk broke off the download of {self._full_key!r}: {exc}") from exc
        size = len(data)
        buffer[:size] = data
        return size

    def close(self) -> None:
        if not self.closed:
            try:
                self._response.close()
            finally:
                super().close()


def _json(response: requests.Response, action: str, key: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise StorageError(f"Yandex Disk answered {action} of {key!r} with something that is not JSON") from None
    if not isinstance(body, dict):
        raise StorageError(f"Yandex Disk answered {action} of {key!r} with an unexpected document")
    return body


def _href(response: requests.Response, action: str, key: str) -> str:
    href = _json(response, action, key).get("href")
    if not isinstance(href, str) or not href.startswith(("http://", "https://")):
        raise StorageError(f"Yandex Disk gave no link to {action} {key!r}")
    return href


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _error_name(response: requests.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except (ValueError, AttributeError):
        return ""


def _answer_error(action: str, key: str, response: requests.Response) -> StorageError:
    return StorageError(f"Yandex Disk could not {action} {key!r}: {response.status_code} {_error_name(response)}")


def _unavailable(action: str, key: str, exc: Exception) -> StorageUnavailable:
    return StorageUnavailable(f"Yandex Disk could not {action} {key!r}: {type(exc).__name__}")


__all__ = ["YandexDiskStorage"]
