"""Temporary uploads (SPEC 4.2): upload with quotas, read, delete, signed previews with Range support."""

from __future__ import annotations

import logging
import uuid

from flask import current_app, g, redirect, request, send_file, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from api import auth
from api.request_body import allow_upload_body
from api.temp_uploads import schemas
from shared.files import ReceivedFile
from shared.storage.errors import InvalidSignature
from shared.uploads import service, tus

log = logging.getLogger(__name__)

blp = Blueprint("uploads", __name__, url_prefix="/api/uploads",
                description="Temporary uploads of the profile form: kept 48 h for a submission to take")

# Previews are the client's own bytes: the browser must not run them as anything but media.
_PREVIEW_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300",
                    "Content-Security-Policy": "default-src 'none'; sandbox"}


# Bodies parsed as a form (a form without a file part is a 422 naming it); any other body is the file.
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _deps():
    return current_app.extensions["showreel.db"], current_app.config["SETTINGS"]


def current_owner() -> service.Owner:
    """Who uploads in this request: the signed-in wallet if any, and the client's address."""
    return service.Owner(wallet=auth.current_wallet_or_none(), ip=request.remote_addr or "unknown")


@blp.before_request
def _quotas_before_the_body_is_read():
    # Refuse before werkzeug streams the body to disk: a flood never reaches TEMP_DIR. What
    # is admitted holds its bytes while it streams, so parallel uploads cannot pass on them.
    if request.method == "POST" and request.endpoint == "uploads.Uploads":
        db, settings = _deps()
        reservation = service.reserve_intake(db, settings, current_owner(), request.content_length)
        g.upload_reservation = reservation.id
        allow_upload_body(reservation.most)


@blp.teardown_request
def _release_the_reservation(_error):
    # Runs however the request ended: stored, refused, or the client gone mid-body.
    reservation = g.pop("upload_reservation", None)
    if reservation is None:
        return
    try:
        service.release_intake(current_app.extensions["showreel.db"], reservation)
    except SQLAlchemyError:  # the hold expires by itself (UPLOAD_RESERVATION_SECONDS)
        log.exception("could not release upload reservation %s", reservation)


@blp.route("/")
class Uploads(MethodView):
    @blp.arguments(schemas.UploadQuery, location="query")
    @blp.doc(requestBody=schemas.UPLOAD_REQUEST_BODY)
    @blp.response(201, schemas.Upload, description="Kept until expires_at for a submission to take")
    @blp.alt_response(413, description="file_too_large: over the limit of its kind or a whole day's quota")
    @blp.alt_response(415, description="unsupported_media_type, upload_kind_mismatch")
    @blp.alt_response(429, description="upload_quota_exceeded (with Retry-After)")
    @blp.alt_response(503, description="storage_unavailable: the upload could not be stored; nothing is kept")
    @blp.alt_response(507, description="temp_storage_full (with Retry-After)")
    def post(self, query):
        """Upload an avatar image or a video, as a form or as the raw body; sniffed, probed and hashed."""
        db, settings = _deps()
        if request.mimetype in _FORM_TYPES:
            form = blp.ARGUMENTS_PARSER.parse(schemas.UploadForm, location="form")
            file = blp.ARGUMENTS_PARSER.parse(schemas.UploadFiles, location="files")["file"]
            writer, kind, file_name = file.stream, form["kind"] or query["kind"], file.filename or ""
            writer.close()
        else:
            writer, kind, file_name = request.receive_body(), query["kind"], query["filename"]
        received = ReceivedFile(path=writer.path, size=writer.size, sha256=writer.sha256, file_name=file_name)
        upload = service.receive_upload(db, settings, received, current_owner(), kind=kind,
                                        reservation=g.get("upload_reservation"))
        location = url_for("uploads.UploadById", upload_id=upload.id)
        return service.upload_view(upload, settings), 201, {"Location": location}


@blp.route("/<uuid:upload_id>/")
class UploadById(MethodView):
    @blp.response(200, schemas.Upload)
    @blp.alt_response(202, schema=schemas.Upload, description="A resumable upload still receiving or processing")
    @blp.alt_response(404, description="upload_not_found: unknown, deleted, or not yours")
    @blp.alt_response(410, description="upload_expired")
    def get(self, upload_id: uuid.UUID):
        """Read your upload, with fresh preview links (202 while a resumable one is still arriving or processed)."""
        db, settings = _deps()
        arriving = tus.pending_upload(db, upload_id, current_owner())
        if arriving is not None:
            return tus.pending_view(arriving), 202
        return service.upload_view(service.get_upload(db, upload_id, current_owner()), settings)

    @blp.response(204)
    @blp.alt_response(409, description="upload_in_use: a submission took it")
    def delete(self, upload_id: uuid.UUID):
        """Delete your upload; its space is freed at once."""
        db, settings = _deps()
        service.delete_upload(db, settings, upload_id, current_owner())


def _serve(upload_id: uuid.UUID, token: str, what: str):
    if not token:
        raise InvalidSignature("the link has no token")
    db, settings = _deps()
    found = service.preview_file(db, settings, upload_id, token, what=what)
    if found.url is not None:
        # Object storage (S3): the browser fetches the object itself, and S3 answers Range requests.
        response = redirect(found.url, code=302)
        response.headers["Cache-Control"] = "private, no-store"
        return response
    # conditional=True answers Range requests with 206 (players seek) and If-None-Match with 304.
    response = send_file(found.path, mimetype=found.content_type, conditional=True, etag=True, max_age=300)
    response.headers.update(_PREVIEW_HEADERS)
    response.headers["Content-Disposition"] = "inline"
    return response


@blp.route("/<uuid:upload_id>/preview")
@blp.arguments(schemas.PreviewQuery, location="query")
@blp.alt_response(200, success=True, description="The uploaded file (206 for a Range request)")
@blp.alt_response(302, description="With S3 storage: a presigned link to the object, which answers Range itself")
@blp.alt_response(403, description="invalid_download_link, expired_download_link")
def preview(query, upload_id: uuid.UUID):
    """Serve the upload itself behind its signed link: the image, or the video with Range support."""
    return _serve(upload_id, query["token"], "preview")


@blp.route("/<uuid:upload_id>/poster")
@blp.arguments(schemas.PreviewQuery, location="query")
@blp.alt_response(200, success=True, description="A JPEG frame of the video")
@blp.alt_response(302, description="With S3 storage: a presigned link to the poster object")
@blp.alt_response(403, description="invalid_download_link, expired_download_link")
def poster(query, upload_id: uuid.UUID):
    """Serve a poster frame of an uploaded video (taken on the first request, then kept)."""
    return _serve(upload_id, query["token"], "poster")
