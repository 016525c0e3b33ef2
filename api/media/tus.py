"""Resumable uploads of the media API over tus 1.0, at ``/api/media/tus/`` (protocol: api/tus.py).

Behind the media API's own auth (the tenant's API key) and its per-tenant rate limit. The
preset and the callback URL come in ``Upload-Metadata`` and are judged at creation. When the
last byte is in, a worker hashes and probes the file and creates the media job exactly as
``POST /api/media/`` does; ``GET /api/media/tus/<id>`` tells the client which job (docs/TENANTS.md).
"""

from __future__ import annotations

import uuid

from flask import current_app, request

from api.auth import current_tenant_id
from api.tus import tus_blueprint
from shared.uploads import service, tus
from shared.uploads.models import TusUpload


class MediaFlow:
    """Tenants: every request carries its API key; a tenant reaches its own uploads only."""

    def authenticate(self) -> None:
        current_tenant_id()

    def tenant_id(self) -> uuid.UUID | None:
        return current_tenant_id()

    def create(self, length: int, metadata: dict[str, str]) -> TusUpload:
        caller = service.Owner(wallet=None, ip=request.remote_addr or "unknown")
        return tus.create(current_app.extensions["showreel.db"], current_app.config["SETTINGS"], caller,
                          length=length, metadata=metadata, tenant_id=current_tenant_id())


blp = tus_blueprint("tus_media", "/api/media/tus", MediaFlow())

_SHOWN = {tus.RECEIVING: "receiving", tus.COMPLETING: "processing", tus.DONE: "done"}


@blp.route("/<uuid:upload_id>", methods=["GET"])
def upload_status(upload_id: uuid.UUID):
    """Where the upload is: receiving, processing (hashed and probed), done with its job, or its refusal."""
    row = tus.media_upload(current_app.extensions["showreel.db"], upload_id, current_tenant_id())
    body = {"id": str(row.id), "status": _SHOWN[row.status], "offset": row.offset, "length": row.length,
            "job_id": str(row.job_id) if row.job_id else None}
    if row.status == tus.DONE:
        return body, 200, {"Location": f"/api/media/{row.job_id}/"}
    return body, 202 if row.status == tus.COMPLETING else 200
