"""Request and response schemas of the moderation API."""

from marshmallow import fields, validate

from api.openapi import MAX_ID
from api.schemas import Schema
from shared.moderation.matcher import MODES, SEVERITIES
from shared.moderation.models import AppealStatus
from shared.moderation.models import HashtagStatus as Status  # HashtagStatus is also a schema below

_HASHTAG_STATUSES = [status.value for status in Status]
_APPEAL_STATUSES = [status.value for status in AppealStatus]
_NOTE = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class Page(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class HashtagQuery(Page):
    status = fields.String(load_default=None, validate=validate.OneOf(_HASHTAG_STATUSES))
    q = fields.String(load_default=None, validate=validate.Length(max=100))


class ProfileRef(Schema):
    wallet = fields.String()
    name = fields.String(allow_none=True)
    is_incognito = fields.Boolean()
    published_at = fields.DateTime(allow_none=True)


class Reason(Schema):
    term = fields.String()
    category = fields.String()
    severity = fields.String()
    view = fields.String()


class Hashtag(Schema):
    id = fields.Integer()
    tag = fields.String()
    normalized = fields.String()
    status = fields.String(metadata={"enum": _HASHTAG_STATUSES})
    reasons = fields.List(fields.Nested(Reason))
    reason = fields.String(allow_none=True)
    lexicon_version = fields.Integer()
    decided_by = fields.UUID(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    profiles = fields.List(fields.Nested(ProfileRef))


class HashtagPage(Schema):
    items = fields.List(fields.Nested(Hashtag))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class Decision(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "reject"]))
    note = _NOTE
    feed_lexicon = fields.Boolean(load_default=False, metadata={
        "description": "approve: allowlist the tag; reject: add it as a term (both make a new lexicon version)"})


class TermQuery(Page):
    q = fields.String(load_default=None, validate=validate.Length(max=100))
    language = fields.String(load_default=None, validate=validate.OneOf(["en", "ru"]))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class Term(Schema):
    id = fields.Integer(dump_only=True)
    term = fields.String(required=True, validate=validate.Length(min=2, max=100))
    language = fields.String(dump_only=True)
    category = fields.String(load_default="profanity", validate=validate.Length(min=1, max=30))
    severity = fields.String(load_default="high", validate=validate.OneOf(SEVERITIES))
    mode = fields.String(load_default="sub", validate=validate.OneOf(MODES))
    source = fields.String(dump_only=True)
    note = _NOTE
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class TermChange(Schema):
    category = fields.String(validate=validate.Length(min=1, max=30))
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    mode = fields.String(validate=validate.OneOf(MODES))
    note = _NOTE


class TermPage(Schema):
    items = fields.List(fields.Nested(Term))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class Stem(Schema):
    id = fields.Integer(dump_only=True)
    stem = fields.String(required=True, validate=validate.Length(min=2, max=100))
    language = fields.String(dump_only=True)
    note = _NOTE
    source = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class StemChange(Schema):
    note = _NOTE


class StemPage(Schema):
    items = fields.List(fields.Nested(Stem))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class Removal(Schema):
    note = _NOTE


class Lexicon(Schema):
    version = fields.Integer()
    checksum = fields.String()
    note = fields.String()
    created_at = fields.DateTime()
    terms = fields.Dict(keys=fields.String(), values=fields.Integer())
    allowlist = fields.Integer()
    patterns = fields.Integer()


class AuditQuery(Page):
    hashtag_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))
    moderator_id = fields.UUID(load_default=None)
    action = fields.String(load_default=None, validate=validate.Length(max=40))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class Action(Schema):
    id = fields.Integer()
    action = fields.String()
    moderator_id = fields.UUID(allow_none=True)
    moderator = fields.String()
    hashtag_id = fields.Integer(allow_none=True)
    target = fields.String()
    note = fields.String(allow_none=True)
    details = fields.Dict()
    lexicon_version = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class ActionPage(Schema):
    items = fields.List(fields.Nested(Action))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class AppealQuery(Page):
    status = fields.String(load_default=AppealStatus.OPEN.value,
                           validate=validate.OneOf([*_APPEAL_STATUSES, "all"]))


class AppealBrief(Schema):
    id = fields.UUID()
    status = fields.String()
    decision_note = fields.String(allow_none=True)


class Appeal(Schema):
    id = fields.UUID()
    hashtag_id = fields.Integer()
    wallet = fields.String(allow_none=True)
    message = fields.String()
    status = fields.String(metadata={"enum": _APPEAL_STATUSES})
    original_decider_id = fields.UUID(allow_none=True)
    decided_by = fields.UUID(allow_none=True)
    decision_note = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    hashtag = fields.Nested(Hashtag)


class AppealPage(Schema):
    items = fields.List(fields.Nested(Appeal))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class AppealDecision(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["uphold", "overturn"]))
    note = _NOTE


class NewAppeal(Schema):
    tag = fields.String(required=True, validate=validate.Length(min=1, max=101))
    message = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class NewModerator(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    admin = fields.Boolean(load_default=False, metadata={
        "description": "An admin issues and revokes tokens; only an admin may issue one"})


class Moderator(Schema):
    id = fields.UUID()
    name = fields.String()
    token_prefix = fields.String()
    is_bootstrap = fields.Boolean()
    role = fields.String(metadata={"enum": ["admin", "moderator"],
                                   "description": "admin: the bootstrap moderator or one issued as admin"})
    created_by = fields.UUID(allow_none=True)
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class IssuedModerator(Moderator):
    token = fields.String(metadata={"description": "Shown once; only its hash is stored"})


class CheckRequest(Schema):
    hashtags = fields.Raw(required=True, metadata={"description": "'#a #b' or ['a', 'b']"})


class Verdict(Schema):
    tag = fields.String()
    normalized = fields.String()
    verdict = fields.String(metadata={"enum": _HASHTAG_STATUSES})
    reason = fields.String(allow_none=True)
    term = fields.String(allow_none=True)
    view = fields.String(allow_none=True)
    severity = fields.String(allow_none=True)
    lexicon_version = fields.Integer()


class CheckResult(Schema):
    hashtags = fields.List(fields.Nested(Verdict))


class HashtagStatus(Schema):
    tag = fields.String()
    normalized = fields.String()
    status = fields.String(metadata={"enum": _HASHTAG_STATUSES})
    reason = fields.String(allow_none=True)
    decided_by_moderator = fields.Boolean()
    appeal = fields.Nested(AppealBrief, allow_none=True)
    lexicon_version = fields.Integer()
