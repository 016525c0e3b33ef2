"""Downloads behind signed links of storages that cannot presign (local disk, memory)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from shared.storage import signing_secret
from shared.storage.base import content_disposition, read_chunks
from shared.storage.errors import InvalidSignature, ObjectNotFound
from shared.storage.signing import resolve_download

blp = Blueprint("files", __name__)


@blp.get("/files/<path:key>")
def download(key: str):
    """Stream a stored object granted by the link's token, as an attachment."""
    token = request.args.get("token", "")
    if not token:
        raise InvalidSignature("the download link has no token")
    storage_name, granted_key, filename = resolve_download(token, signing_secret(current_app.config["SETTINGS"]), key=key)
    # The platform default or a tenant's own storage (local disk, Yandex Disk ...), by the signed name.
    storage = current_app.extensions["showreel.storages"].by_name(storage_name)
    if storage is None:
        raise ObjectNotFound("no such storage")
    info = storage.stat(granted_key)
    stream = storage.open(granted_key)
    response = Response(read_chunks(stream), mimetype=info.content_type, direct_passthrough=True)
    response.call_on_close(stream.close)
    response.headers["Content-Length"] = str(info.size)
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if filename:
        response.headers["Content-Disposition"] = content_disposition(filename)
    return response
