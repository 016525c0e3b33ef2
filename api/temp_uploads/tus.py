"""Resumable uploads of the profile flow over tus 1.0 (https://tus.io/protocols/resumable-upload).

Core, creation, creation-with-upload, termination, expiration and checksum (sha1, sha256).
Every host answers every request: the state is in the database, the bytes in storage
(shared.uploads.tus). A finished upload is an ordinary temporary upload of the same id:
``GET /api/uploads/<id>/`` shows it and a submission takes it (docs/PROFILES.md).
"""

from __future__ import annotations

import uuid
from email.utils import format_datetime

from flask import Blueprint, Response, current_app, request

from api import auth
from api.errors import handle_showreel_error, problem
from api.uploads import allow_upload_body
from shared.uploads import errors, service, tus

blp = Blueprint("tus_uploads", __name__, url_prefix="/api/uploads/tus")

_OCTETS = "application/offset+octet-stream"


def _deps():
    return current_app.extensions["showreel.db"], current_app.config["SETTINGS"]


def _owner() -> service.Owner:
    return service.Owner(wallet=auth.current_wallet_or_none(), ip=request.remote_addr or "unknown")


@blp.before_request
def _tus_version():
    if request.method == "OPTIONS" or request.headers.get("Tus-Resumable") == tus.VERSION:
        return None
    response = problem(412, "tus_version_unsupported", "Tus-Resumable 1.0.0 is required",
                       f"this server speaks tus {tus.VERSION}; send Tus-Resumable: {tus.VERSION}")
    response.headers["Tus-Version"] = tus.VERSION
    return response


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
    _, settings = _deps()
    return Response(status=204, headers={
        "Tus-Version": tus.VERSION, "Tus-Extension": ",".join(tus.EXTENSIONS),
        "Tus-Max-Size": str(tus.max_size(settings)),
        "Tus-Checksum-Algorithm": ",".join(tus.CHECKSUM_ALGORITHMS),
        # Not part of tus: a PATCH that does not end the upload must bring at least this much.
        "Tus-Min-Chunk-Size": str(tus.MIN_CHUNK_BYTES)})


@blp.route("/", methods=["POST"])
def create():
    """Creation (and creation-with-upload): refused before any byte when its kind or quota forbids."""
    db, settings = _deps()
    if request.headers.get("Upload-Defer-Length"):
        raise errors.InvalidTusRequest("Upload-Defer-Length is not supported: send Upload-Length")
    length = _int_header("Upload-Length")
    metadata = tus.parse_metadata(request.headers.get("Upload-Metadata"))
    row = tus.create(db, settings, _owner(), length=length, metadata=metadata)
    headers = {"Location": f"{blp.url_prefix}/{row.id}", "Upload-Expires": _http_date(row.expires_at)}
    offset = 0
    if request.content_length and request.mimetype == _OCTETS:
        offset = _append(row.id, 0).offset
    headers["Upload-Offset"] = str(offset)
    return Response(status=201, headers=headers)


@blp.route("/<uuid:upload_id>", methods=["HEAD"])
def head(upload_id: uuid.UUID):
    """Where to resume: the bytes the server has (any host answers)."""
    db, _ = _deps()
    found = tus.state(db, upload_id)
    headers = {"Upload-Offset": str(found.offset), "Upload-Length": str(found.length)}
    if found.expires_at is not None:
        headers["Upload-Expires"] = _http_date(found.expires_at)
    return Response(status=200, headers=headers)


@blp.route("/<uuid:upload_id>", methods=["PATCH"])
def patch(upload_id: uuid.UUID):
    """Add the bytes at Upload-Offset; the last ones complete the upload (probed, hashed)."""
    if request.mimetype != _OCTETS:
        return problem(415, "unsupported_media_type", "PATCH bodies are application/offset+octet-stream")
    found = _append(upload_id, _int_header("Upload-Offset"))
    headers = {"Upload-Offset": str(found.offset)}
    if found.expires_at is not None:
        headers["Upload-Expires"] = _http_date(found.expires_at)
    return Response(status=204, headers=headers)


@blp.route("/<uuid:upload_id>", methods=["DELETE"])
def terminate(upload_id: uuid.UUID):
    """Termination: drop an unfinished upload and free its quota at once."""
    db, settings = _deps()
    tus.terminate(db, settings, upload_id)
    return Response(status=204)


def _append(upload_id: uuid.UUID, offset: int) -> tus.State:
    db, settings = _deps()
    length = request.content_length
    if length is None:
        raise errors.InvalidTusRequest("a chunk needs a Content-Length")
    checksum = tus.parse_checksum(request.headers.get("Upload-Checksum"))
    tus.preflight(db, upload_id, offset, length)  # refused before the body is read
    allow_upload_body(length)
    writer = request.receive_body()
    chunk = tus.Chunk(path=writer.path, size=writer.size, sha256=writer.sha256)
    return tus.append(db, settings, upload_id, offset, chunk, checksum)


def _int_header(name: str) -> int:
    value = request.headers.get(name, "")
    if not value.isdigit():
        raise errors.InvalidTusRequest(f"{name} must be a non-negative integer")
    return int(value)


def _http_date(when) -> str:
    return format_datetime(when, usegmt=True)
