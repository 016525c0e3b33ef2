"""Request and response schemas of the ops API."""

from marshmallow import fields, validate

from api.schemas import Schema

RUN_STATUSES = ["queued", "running", "succeeded", "failed"]


class LastRun(Schema):
    id = fields.UUID()
    status = fields.String(metadata={"enum": RUN_STATUSES})
    trigger = fields.String()
    created_at = fields.String()
    finished_at = fields.String(allow_none=True)


class ScheduleParam(Schema):
    name = fields.String()
    type = fields.String()
    default = fields.Raw()
    description = fields.String()
    choices = fields.List(fields.String())


class Schedule(Schema):
    name = fields.String()
    description = fields.String()
    cron = fields.String()
    timezone = fields.String()
    enabled = fields.Boolean()
    params = fields.Dict(keys=fields.String())
    next_run_at = fields.String(allow_none=True, metadata={"description": "ISO 8601; null when disabled"})
    default_cron = fields.String()
    customized = fields.Boolean(metadata={"description": "ops changed it (false: code defaults)"})
    updated_at = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)
    last_run = fields.Nested(LastRun, allow_none=True)
    accepts = fields.List(fields.Nested(ScheduleParam), metadata={"description": "parameters the task takes"})


class ScheduleList(Schema):
    schedules = fields.List(fields.Nested(Schedule))


class ScheduleChange(Schema):
    cron = fields.String(validate=validate.Length(min=1, max=100),
                         metadata={"description": "five-field crontab line, e.g. '0 0 * * *'"})
    enabled = fields.Boolean()
    timezone = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "IANA name"})
    params = fields.Dict(keys=fields.String(), metadata={"description": "task parameters, e.g. {\"dry_run\": false}"})


class RunRequest(Schema):
    params = fields.Dict(keys=fields.String(), load_default=None,
                         metadata={"description": "override the schedule's parameters for this run"})


class Run(Schema):
    id = fields.UUID()
    schedule = fields.String()
    trigger = fields.String(metadata={"enum": ["schedule", "api", "cli", "host"],
                                      "description": "host: a host's own scratch sweep (requested_by host:<name>)"})
    status = fields.String(metadata={"enum": RUN_STATUSES})
    params = fields.Dict(keys=fields.String())
    requested_by = fields.String(allow_none=True)
    scheduled_for = fields.String(allow_none=True)
    created_at = fields.String()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    duration_seconds = fields.Float(allow_none=True)
    deliveries = fields.Integer()
    stats = fields.Dict(keys=fields.String(),
                        metadata={"description": "what the run did: files_removed, bytes_removed, errors, ..."})
    error = fields.String(allow_none=True)


class RunList(Schema):
    runs = fields.List(fields.Nested(Run))
    next_before = fields.String(allow_none=True, metadata={"description": "pass as ?before= for older runs"})


class RunQuery(Schema):
    schedule = fields.String(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(RUN_STATUSES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    before = fields.AwareDateTime(load_default=None, default_timezone=None)


class QueueDepth(Schema):
    queue = fields.String()
    ready = fields.Integer()
    in_progress = fields.Integer()
    delayed = fields.Integer()
    dead = fields.Integer()
    oldest_age_seconds = fields.Float(allow_none=True)


class StreamGroup(Schema):
    group = fields.String()
    pending = fields.Integer()
    consumers = fields.Integer()
    lag = fields.Integer(allow_none=True)


class StreamBacklog(Schema):
    stream = fields.String()
    length = fields.Integer()
    groups = fields.List(fields.Nested(StreamGroup))


class OutboxBacklog(Schema):
    unpublished = fields.Integer()
    oldest_age_seconds = fields.Float(allow_none=True)


class Queues(Schema):
    queues = fields.List(fields.Nested(QueueDepth))
    streams = fields.List(fields.Nested(StreamBacklog))
    outbox = fields.Nested(OutboxBacklog)


class DeadLetterQuery(Schema):
    source = fields.String(load_default="all", validate=validate.OneOf(["all", "dramatiq", "events"]))
    queue = fields.String(load_default=None, validate=validate.OneOf(["video", "media", "light"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class DeadLetter(Schema):
    source = fields.String(metadata={"enum": ["dramatiq", "events"]})
    queue = fields.String(allow_none=True)
    id = fields.String(metadata={"description": "Dramatiq message id or events:dead entry id"})
    actor = fields.String(allow_none=True)
    args = fields.List(fields.Raw(), allow_none=True)
    retries = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    type = fields.String(allow_none=True)
    event_id = fields.String(allow_none=True)
    source_stream = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    died_at = fields.Float(metadata={"description": "Unix time"})


class DeadLetters(Schema):
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    dead_letters = fields.List(fields.Nested(DeadLetter))


class RedriveRequest(Schema):
    source = fields.String(load_default="all", validate=validate.OneOf(["all", "dramatiq", "events"]))
    queue = fields.String(load_default="", validate=validate.OneOf(["", "video", "media", "light"]))
    ids = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list,
                      validate=validate.Length(max=1000),
                      metadata={"description": "only these ids (default: every dead letter of the source)"})
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=100_000))


class RunAccepted(Schema):
    run_id = fields.UUID()
    schedule = fields.String()
    status = fields.String()
