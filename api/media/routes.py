"""Media-jobs API (SPEC 4.1): create, read, retry, cancel, presets."""

from __future__ import annotations

import uuid

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_tenant_id
from api.media import schemas
from api.request_body import allow_upload_body
from shared.jobs import service
from shared.jobs.errors import InvalidIdempotencyKey
from shared.jobs.presets import PRESETS

blp = Blueprint("media", __name__, url_prefix="/api", description="Media jobs for business clients")


@blp.before_request
def _authenticate_before_reading_the_body() -> None:
    # An anonymous call in production is refused before a byte of its upload hits the disk.
    current_tenant_id()
    if request.method == "POST" and request.endpoint == "media.MediaJobs":
        allow_upload_body()


def _deps():
    app = current_app
    return app.extensions["showreel.db"], app.extensions["showreel.storages"], app.config["SETTINGS"]


@blp.route("/media/")
class MediaJobs(MethodView):
    @blp.arguments(schemas.CreateJobForm, location="form")
    @blp.arguments(schemas.CreateJobFiles, location="files")
    @blp.response(201, schemas.CreatedJob, description="A new job was queued")
    @blp.alt_response(200, schema=schemas.CreatedJob, description="The same bytes and preset: the existing job")
    def post(self, form, files):
        """Submit a file for processing (idempotent by content + preset)."""
        db, storages, settings = _deps()
        upload = files["file"]
        writer = upload.stream
        writer.close()
        key = request.headers.get("Idempotency-Key")
        if key is not None and not (1 <= len(key) <= 255):
            raise InvalidIdempotencyKey("Idempotency-Key must be 1 to 255 characters")
        received = service.ReceivedFile(path=writer.path, size=writer.size, sha256=writer.sha256,
                                        file_name=upload.filename or "")
        result = service.create_job(db, storages, settings, tenant_id=current_tenant_id(), received=received,
                                    preset_name=form["preset"], callback_url=form["callback_url"] or None,
                                    idempotency_key=key)
        return result.body, result.status_code


@blp.route("/media/<uuid:job_id>/")
class MediaJob(MethodView):
    @blp.response(200, schemas.Job)
    @blp.alt_response(304, description="Not modified since the ETag in If-None-Match")
    def get(self, job_id: uuid.UUID):
        """Read a job, with presigned URLs of its outputs; supports If-None-Match."""
        db, storages, settings = _deps()
        tenant_id = current_tenant_id()
        if request.if_none_match:
            # A poll: most answer 304, and that takes the job's version alone, not the whole row.
            etag = service.current_job_etag(db, settings, tenant_id, job_id)
            if request.if_none_match.contains(etag):
                return "", 304, _etag_headers(etag)
        job = service.get_job(db, tenant_id, job_id)
        etag = service.job_etag(job, settings)
        return service.job_view(job, storages(job), settings), 200, _etag_headers(etag)


def _etag_headers(etag: str) -> dict[str, str]:
    return {"ETag": f'"{etag}"', "Cache-Control": "private, no-cache"}


@blp.route("/media/<uuid:job_id>/retry/")
class RetryJob(MethodView):
    @blp.response(200, schemas.RetriedJob)
    def post(self, job_id: uuid.UUID):
        """Queue a failed or canceled job again (409 when it cannot be retried)."""
        db, _, _ = _deps()
        job = service.retry_job(db, current_tenant_id(), job_id)
        return {"job_id": job.id, "status": job.status, "attempts": job.attempts}


@blp.route("/media/<uuid:job_id>/cancel/")
class CancelJob(MethodView):
    @blp.response(200, schemas.CreatedJob)
    def post(self, job_id: uuid.UUID):
        """Cancel a queued or running job; written outputs are removed."""
        db, _, _ = _deps()
        job = service.cancel_job(db, current_tenant_id(), job_id)
        return {"job_id": job.id, "status": job.status}


@blp.route("/presets/")
class Presets(MethodView):
    @blp.response(200, schemas.Preset(many=True))
    def get(self):
        """List the presets, their outputs and versions."""
        return [preset.as_dict() for preset in PRESETS.values()]
