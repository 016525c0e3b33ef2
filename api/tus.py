"""The tus 1.0 protocol over HTTP (https://tus.io/protocols/resumable-upload), for any upload flow.

Core, creation, creation-with-upload, termination, expiration and checksum (sha1, sha256).
Every host answers every request: the state is in the database, the bytes in storage
(shared.uploads.tus). One blueprint per flow, made by :func:`tus_blueprint` from an
adapter that says who is calling and what the flow allows: the profile flow at
``/api/uploads/tus/`` (api/temp_uploads/tus.py), the media API at ``/api/media/tus/``
(api/media/tus.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Protocol

from flask import Blueprint, Response, current_app, request

from api.errors import handle_showreel_error, problem
from api.request_body import allow_upload_body
from shared.db import Database
from shared.settings import Settings
from shared.uploads import errors, tus
from shared.uploads.models import TusUpload

_OCTETS = "application/offset+octet-stream"


class TusFlow(Protocol):
    """What differs between the endpoints: who calls, and what a creation is for."""

    def authenticate(self) -> None:
        """Refuse a caller before any body is read (raise a ShowreelError)."""

    def tenant_id(self) -> uuid.UUID | None:
        """The media tenant whose uploads this caller reaches; None for the profile flow."""

    def create(self, length: int, metadata: dict[str, str]) -> TusUpload:
        """Start an upload (shared.uploads.tus.create with the flow's owner and scope)."""


@dataclass(frozen=True)
class _Deps:
    db: Database
    settings: Settings


def _deps() -> _Deps:
    return _Deps(current_app.extensions["showreel.db"], current_app.config["SETTINGS"])


def tus_blueprint(name: str, url_prefix: str, flow: TusFlow) -> Blueprint:
    """A blueprint speaking tus at ``url_prefix`` for ``flow``; a flow may add its own routes to it."""
    blp = Blueprint(name, __name__, url_prefix=url_prefix)

    @blp.before_request
    def _version_and_caller():
        # OPTIONS is asked before the client knows the version; a flow's own GET is not tus.
        if request.method not in ("OPTIONS", "GET") and request.headers.get("Tus-Resumable") != tus.VERSION:
            response = problem(412, "tus_version_unsupported", "Tus-Resumable 1.0.0 is required",
                               f"this server speaks tus {tus.VERSION}; send Tus-Resumable: {tus.VERSION}")
            response.headers["Tus-Version"] = tus.VERSION
            return response
        if request.method != "OPTIONS":
            flow.authenticate()  # before any body is read
        return None

    @blp.after_request
    def _tus_headers(response: Response) -> Response:
        response.headers["Tus-Resumable"] = tus.VERSION
        # HEAD offsets change with every PATCH: nothing here is for a cache.
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @blp.errorhandler(errors.ChecksumMismatch)
    def _checksum_mismatch(error: errors.ChecksumMismatch) -> Response:
        # tus's checksum extension answers a mismatch with 460 Checksum Mismatch.
        response = handle_showreel_error(error)
        response.status_code = 460
        return response

    @blp.route("/", methods=["OPTIONS"])
    def options():
        """Announce the protocol: version, extensions, sizes and checksum algorithms."""
        return Response(status=204, headers={
            "Tus-Version": tus.VERSION, "Tus-Extension": ",".join(tus.EXTENSIONS),
            "Tus-Max-Size": str(tus.max_size(_deps().settings)),
            "Tus-Checksum-Algorithm": ",".join(tus.CHECKSUM_ALGORITHMS),
            # Not part of tus: a PATCH that does not end the upload must bring at least this much.
            "Tus-Min-Chunk-Size": str(tus.MIN_CHUNK_BYTES)})

    @blp.route("/", methods=["POST"])
    def create():
        """Creation (and creation-with-upload): refused before any byte when its kind or quota forbids."""
        if request.headers.get("Upload-Defer-Length"):
            raise errors.InvalidTusRequest("Upload-Defer-Length is not supported: send Upload-Length")
        length = _int_header("Upload-Length")
        metadata = tus.parse_metadata(request.headers.get("Upload-Metadata"))
        row = flow.create(length, metadata)
        headers = {"Location": f"{url_prefix}/{row.id}", "Upload-Expires": _http_date(row.expires_at)}
        offset = 0
        if request.content_length and request.mimetype == _OCTETS:
            try:
                offset = _append(row.id, 0).offset
            except BaseException:
                # The client gets no Location with this error, so it could neither resume nor end the
                # upload: end it here, hold and all, rather than leave it held until it expires.
                deps = _deps()
                tus.terminate(deps.db, deps.settings, row.id, tenant_id=flow.tenant_id())
                raise
        headers["Upload-Offset"] = str(offset)
        return Response(status=201, headers=headers)

    @blp.route("/<uuid:upload_id>", methods=["HEAD"])
    def head(upload_id: uuid.UUID):
        """Where to resume: the bytes the server has (any host answers)."""
        found = tus.state(_deps().db, upload_id, tenant_id=flow.tenant_id())
        headers = {"Upload-Offset": str(found.offset), "Upload-Length": str(found.length)}
        if found.expires_at is not None:
            headers["Upload-Expires"] = _http_date(found.expires_at)
        return Response(status=200, headers=headers)

    @blp.route("/<uuid:upload_id>", methods=["PATCH"])
    def patch(upload_id: uuid.UUID):
        """Add the bytes at Upload-Offset; the last ones hand the upload to a worker (hashed, probed)."""
        if request.mimetype != _OCTETS:
            return problem(415, "unsupported_media_type", "PATCH bodies are application/offset+octet-stream")
        found = _append(upload_id, _int_header("Upload-Offset"))
        headers = {"Upload-Offset": str(found.offset)}
        if found.expires_at is not None:
            headers["Upload-Expires"] = _http_date(found.expires_at)
        return Response(status=204, headers=headers)

    @blp.route("/<uuid:upload_id>", methods=["DELETE"])
    def terminate(upload_id: uuid.UUID):
        """Termination: drop an unfinished upload and free its hold at once."""
        deps = _deps()
        tus.terminate(deps.db, deps.settings, upload_id, tenant_id=flow.tenant_id())
        return Response(status=204)

    def _append(upload_id: uuid.UUID, offset: int) -> tus.State:
        deps = _deps()
        length = request.content_length
        if length is None:
            raise errors.InvalidTusRequest("a chunk needs a Content-Length")
        checksum = tus.parse_checksum(request.headers.get("Upload-Checksum"))
        tus.preflight(deps.db, upload_id, offset, length, tenant_id=flow.tenant_id())  # before the body is read
        allow_upload_body(length)
        writer = request.receive_body()
        chunk = tus.Chunk(path=writer.path, size=writer.size, sha256=writer.sha256)
        return tus.append(deps.db, deps.settings, upload_id, offset, chunk, checksum, tenant_id=flow.tenant_id())

    return blp


def _int_header(name: str) -> int:
    value = request.headers.get(name, "")
    # ASCII digits only ("²".isdigit() is true, and int() refuses it), and no more than an int64 holds.
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise errors.InvalidTusRequest(f"{name} must be a non-negative integer")
    return int(value)


def _http_date(when) -> str:
    return format_datetime(when, usegmt=True)
