"""Request and response schemas of the media-jobs API (they make the OpenAPI document)."""

from marshmallow import fields, validate

from api.schemas import Schema


class CreateJobForm(Schema):
    preset = fields.String(load_default="default", validate=validate.Length(min=1, max=50),
                           metadata={"description": "Preset name; see GET /api/presets/"})
    callback_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2048),
                                 metadata={"description": "http(s) URL that receives signed webhooks"})


class CreateJobFiles(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class CreatedJob(Schema):
    job_id = fields.UUID()
    status = fields.String()


class JobError(Schema):
    code = fields.String()
    message = fields.String()


class Job(Schema):
    id = fields.UUID()
    status = fields.String(metadata={"enum": ["queued", "processing", "done", "failed", "canceled"]})
    preset = fields.String()
    preset_version = fields.Integer()
    kind = fields.String()
    file_name = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    attempts = fields.Integer()
    max_attempts = fields.Integer()
    steps = fields.Dict(keys=fields.String(), values=fields.Dict())
    outputs = fields.Dict(keys=fields.String(), values=fields.String())
    result_urls = fields.Dict(keys=fields.String(), values=fields.String())
    result = fields.Dict()
    error = fields.Nested(JobError, allow_none=True)
    callback_url = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()
    finished_at = fields.String(allow_none=True)


class RetriedJob(Schema):
    job_id = fields.UUID()
    status = fields.String()
    attempts = fields.Integer()


class Preset(Schema):
    name = fields.String()
    version = fields.Integer()
    description = fields.String()
    kinds = fields.List(fields.String())
    image = fields.Dict()
    video = fields.Dict()
