"""Request and response schemas of the temporary uploads API."""

from marshmallow import fields, validate

from api.schemas import Schema
from shared.uploads.service import KINDS


class UploadForm(Schema):
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS),
                         metadata={"description": "Optional: what the file must be; 415 when the bytes "
                                                  "say otherwise"})


class UploadFiles(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class UploadQuery(Schema):
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS),
                         metadata={"description": "Optional: what the file must be; 415 when the bytes say "
                                                  "otherwise (a form's own kind field wins)"})
    filename = fields.String(load_default="", validate=validate.Length(max=1000),
                             metadata={"description": "Raw body: the client's file name (a multipart form "
                                                      "carries its own); only used for download names"})


# Two ways to send the file (flask-smorest documents one requestBody per view; both are written here).
UPLOAD_REQUEST_BODY = {
    "required": True,
    "description": "Either a multipart form (browsers) or the file itself as the whole body with any "
                   "Content-Type but the two form types, e.g. application/octet-stream, and kind and "
                   "filename in the query. The raw body is "
                   "the fast way in (no multipart parsing; under gunicorn it goes from the socket to the "
                   "disk without passing through Python). The type is always sniffed from the bytes.",
    "content": {
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"},
                           "kind": {"type": "string", "enum": list(KINDS)}},
        }},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}


class Upload(Schema):
    id = fields.UUID()
    kind = fields.String(metadata={"enum": list(KINDS)})
    content_type = fields.String(metadata={"description": "Sniffed from the bytes, never the client's"})
    size = fields.Integer()
    sha256 = fields.String()
    width = fields.Integer(allow_none=True, metadata={"description": "As displayed (EXIF/rotation applied)"})
    height = fields.Integer(allow_none=True)
    duration = fields.Float(allow_none=True, metadata={"description": "Seconds; null for images"})
    preview_url = fields.String(metadata={"description": "Signed, expiring link to the file itself (video: "
                                                         "Range requests, so a player can seek)"})
    poster_url = fields.String(allow_none=True, metadata={
        "description": "Videos: signed link to a poster frame (made on first request); null for images"})
    expires_at = fields.DateTime(metadata={"description": "Removed then unless a submission took it"})
    status = fields.String(dump_default="ready", metadata={
        "enum": ["receiving", "processing", "ready"],
        "description": "Resumable (tus) uploads: receiving bytes, then processing (hashed, probed on a worker)"})


class PreviewQuery(Schema):
    token = fields.String(load_default="", metadata={"description": "From preview_url or poster_url"})
