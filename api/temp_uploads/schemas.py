"""Request and response schemas of the temporary uploads API."""

from marshmallow import Schema, fields, validate

from shared.uploads.service import KINDS


class UploadForm(Schema):
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS),
                         metadata={"description": "Optional: what the file must be; 415 when the bytes "
                                                  "say otherwise"})


class UploadFiles(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


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


class PreviewQuery(Schema):
    token = fields.String(load_default="", metadata={"description": "From preview_url or poster_url"})
