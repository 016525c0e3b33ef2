"""A small local Yandex Disk: the documented REST endpoints the provider uses, over real HTTP.

Implements ``GET /v1/disk/``, ``GET|PUT|PATCH|DELETE /v1/disk/resources``,
``GET /v1/disk/resources/upload`` (the upload-URL handshake, then ``PUT`` to the
handed-out URL) and ``GET /v1/disk/resources/download`` (a download URL), with the
documented status codes and error names (401 UnauthorizedError, 404
DiskNotFoundError, 409 DiskPathDoesntExistsError / DiskPathPointsToExistentDirectoryError
/ DiskResourceAlreadyExistsError). Files live in memory.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class _Node:
    kind: str  # "dir" | "file"
    data: bytes = b""
    custom_properties: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    modified: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


class FakeYandexDisk:
    """Start with :meth:`start`; ``url`` is the API base, ``token`` the accepted OAuth token."""

    def __init__(self, token: str = "test-oauth-token") -> None:
        self.token = token
        self.url = ""
        self.requests: list[tuple[str, str]] = []
        self._nodes: dict[str, _Node] = {"disk:": _Node("dir"), "app:": _Node("dir")}
        self._uploads: dict[str, str] = {}
        self._downloads: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeYandexDisk:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._thread.join()

    def files(self) -> dict[str, bytes]:
        with self._lock:
            return {path: node.data for path, node in self._nodes.items() if node.kind == "file"}

    @Request.application
    def app(self, request: Request) -> Response:
        self.requests.append((request.method, request.path))
        if request.path.startswith("/upload-target/"):
            return self._receive_upload(request)
        if request.path.startswith("/download-target/"):
            return self._serve_download(request)
        if request.headers.get("Authorization") != f"OAuth {self.token}":
            return _error(401, "UnauthorizedError", "Не авторизован.")
        route = (request.method, request.path.rstrip("/"))
        handlers = {
            ("GET", "/v1/disk"): self._disk,
            ("GET", "/v1/disk/resources"): self._meta,
            ("PUT", "/v1/disk/resources"): self._make_folder,
            ("PATCH", "/v1/disk/resources"): self._patch,
            ("DELETE", "/v1/disk/resources"): self._delete,
            ("GET", "/v1/disk/resources/upload"): self._upload_link,
            ("GET", "/v1/disk/resources/download"): self._download_link,
        }
        handler = handlers.get(route)
        if handler is None:
            return _error(404, "NotFoundError", "Resource not found.")
        with self._lock:
            return handler(request)

    # ---- endpoints ----------------------------------------------------------------------

    def _disk(self, request: Request) -> Response:
        used = sum(len(node.data) for node in self._nodes.values())
        return _json({"total_space": 10 * 1024 ** 3, "used_space": used, "trash_size": 0,
                      "system_folders": {"applications": "disk:/Приложения"}})

    def _meta(self, request: Request) -> Response:
        path = _normalize(request.args.get("path", ""))
        node = self._nodes.get(path)
        if node is None:
            return _error(404, "DiskNotFoundError", "Не удалось найти запрошенный ресурс.")
        body = self._resource(path, node)
        if node.kind == "dir":
            limit = int(request.args.get("limit", 20))
            offset = int(request.args.get("offset", 0))
            children = sorted(p for p in self._nodes if _parent(p) == path)
            body["_embedded"] = {"items": [self._resource(p, self._nodes[p]) for p in children[offset:offset + limit]],
                                 "limit": limit, "offset": offset, "total": len(children), "path": path}
        return _json(_only(body, request.args.get("fields")))

    def _make_folder(self, request: Request) -> Response:
        path = _normalize(request.args.get("path", ""))
        if path in self._nodes:
            name = ("DiskPathPointsToExistentDirectoryError" if self._nodes[path].kind == "dir"
                    else "DiskResourceAlreadyExistsError")
            return _error(409, name, "По указанному пути уже существует ресурс.")
        parent = self._nodes.get(_parent(path))
        if parent is None or parent.kind != "dir":
            return _error(409, "DiskPathDoesntExistsError", "Указанного пути не существует.")
        self._nodes[path] = _Node("dir")
        return _json(_link(self.url, path), status=201)

    def _patch(self, request: Request) -> Response:
        path = _normalize(request.args.get("path", ""))
        node = self._nodes.get(path)
        if node is None:
            return _error(404, "DiskNotFoundError", "Не удалось найти запрошенный ресурс.")
        properties = (request.get_json(silent=True) or {}).get("custom_properties") or {}
        node.custom_properties.update({k: v for k, v in properties.items() if v is not None})
        return _json(self._resource(path, node))

    def _delete(self, request: Request) -> Response:
        path = _normalize(request.args.get("path", ""))
        if path not in self._nodes:
            return _error(404, "DiskNotFoundError", "Не удалось найти запрошенный ресурс.")
        for doomed in [p for p in self._nodes if p == path or p.startswith(path + "/")]:
            del self._nodes[doomed]
        return Response(status=204)

    def _upload_link(self, request: Request) -> Response:
        path = _normalize(request.args.get("path", ""))
        parent = self._nodes.get(_parent(path))
        if parent is None or parent.kind != "dir":
            return _error(409, "DiskPathDoesntExistsError", "Указанного пути не существует.")
        existing = self._nodes.get(path)
        if existing is not None and (existing.kind == "dir" or request.args.get("overwrite") != "true"):
            return _error(409, "DiskResourceAlreadyExistsError", "Ресурс уже существует.")
        ticket = secrets.token_hex(8)
        self._uploads[ticket] = path
        return _json({"operation_id": ticket, "href": f"{self.url}/upload-target/{ticket}", "method": "PUT",
                      "templated": False})

    def _download_link(self, request: Request) -> Response:
        path = _normalize(request.args.get("path", ""))
        node = self._nodes.get(path)
        if node is None or node.kind != "file":
            return _error(404, "DiskNotFoundError", "Не удалось найти запрошенный ресурс.")
        ticket = secrets.token_hex(8)
        self._downloads[ticket] = path
        return _json({"href": f"{self.url}/download-target/{ticket}", "method": "GET", "templated": False})

    def _receive_upload(self, request: Request) -> Response:
        if request.method != "PUT":
            return Response(status=405)
        data = request.get_data()
        with self._lock:
            path = self._uploads.pop(request.path.rsplit("/", 1)[1], None)
            if path is None:
                return Response(status=404)
            now = datetime.now(UTC).isoformat()
            previous = self._nodes.get(path)
            self._nodes[path] = _Node("file", data, created=previous.created if previous else now, modified=now)
        return Response(status=201)

    def _serve_download(self, request: Request) -> Response:
        with self._lock:
            path = self._downloads.get(request.path.rsplit("/", 1)[1])
            node = self._nodes.get(path or "")
            if node is None or node.kind != "file":
                return Response(status=404)
            data = node.data
        return Response(data, mimetype="application/octet-stream")

    def _resource(self, path: str, node: _Node) -> dict[str, Any]:
        body: dict[str, Any] = {"path": path if ":/" in path else path + "/", "name": path.rsplit("/", 1)[-1],
                                "type": node.kind, "created": node.created, "modified": node.modified,
                                "custom_properties": dict(node.custom_properties)}
        if node.kind == "file":
            body.update(size=len(node.data), md5=hashlib.md5(node.data).hexdigest(),
                        sha256=hashlib.sha256(node.data).hexdigest(), mime_type="application/octet-stream",
                        media_type="unknown")
        return body


def _normalize(path: str) -> str:
    """``/a/b`` and ``disk:/a/b/`` both mean ``disk:/a/b``; ``app:/`` is the app folder."""
    if ":" not in path.split("/", 1)[0]:
        path = "disk:" + (path if path.startswith("/") else "/" + path)
    area, _, rest = path.partition(":")
    rest = "/".join(part for part in rest.split("/") if part)
    return f"{area}:/{rest}" if rest else f"{area}:"


def _parent(path: str) -> str:
    area, _, rest = path.partition(":/")
    if "/" not in rest:
        return f"{area}:"
    return f"{area}:/{rest.rsplit('/', 1)[0]}"


def _only(body: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields:
        return body
    wanted = {name.split(".")[0] for name in fields.split(",")}
    return {key: value for key, value in body.items() if key in wanted}


def _link(base: str, path: str) -> dict[str, Any]:
    return {"href": f"{base}/v1/disk/resources?path={path}", "method": "GET", "templated": False}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def _error(status: int, name: str, message: str) -> Response:
    return _json({"error": name, "message": message, "description": message}, status=status)
