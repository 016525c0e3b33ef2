"""Resumable uploads of the profile flow over tus 1.0, at ``/api/uploads/tus/`` (protocol: api/tus.py).

A finished upload is an ordinary temporary upload of the same id: ``GET /api/uploads/<id>/``
shows it processing while a worker hashes and probes it, then ready, and a submission takes
it (docs/PROFILES.md).
"""

from __future__ import annotations

import uuid

from flask import current_app

from api.temp_uploads.routes import current_owner
from api.tus import tus_blueprint
from shared.uploads import tus
from shared.uploads.models import TusUpload


class ProfileFlow:
    """Visitors: the signed-in wallet if any, else the address; the upload id is the capability."""

    def authenticate(self) -> None:
        return None

    def tenant_id(self) -> uuid.UUID | None:
        return None

    def create(self, length: int, metadata: dict[str, str]) -> TusUpload:
        return tus.create(current_app.extensions["showreel.db"], current_app.config["SETTINGS"], current_owner(),
                          length=length, metadata=metadata)


blp = tus_blueprint("tus_uploads", "/api/uploads/tus", ProfileFlow())
