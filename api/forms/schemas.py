"""Schemas of the form-validation API (the rules themselves live in shared/profiles/validation.py)."""

from marshmallow import INCLUDE, Schema, fields

from shared.moderation.models import HashtagStatus
from shared.profiles.validation import ACTIVITY_HOBBIES_MAX, MAX_HASHTAGS, NAME_MAX, URL_MAX


class ProfileForm(Schema):
    """Fields are taken as sent and judged by the validator, so that every problem comes back
    in one 200 answer instead of a 422 for the first wrong type."""

    class Meta:
        unknown = INCLUDE

    name = fields.Raw(allow_none=True, metadata={
        "type": "string", "description": f"1-{NAME_MAX} characters, one line; required unless is_incognito"})
    url = fields.Raw(allow_none=True, metadata={
        "type": "string", "description": f"http(s) link to a public host, at most {URL_MAX} characters"})
    activity_hobbies = fields.Raw(allow_none=True, metadata={
        "type": "string", "description": f"at most {ACTIVITY_HOBBIES_MAX} characters"})
    hashtags = fields.Raw(allow_none=True, metadata={
        "description": f'"#a #b" or ["a", "b"]; at most {MAX_HASHTAGS}',
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
    is_incognito = fields.Raw(allow_none=True, metadata={
        "type": "boolean", "description": "hide name and link publicly"})


class HashtagVerdict(Schema):
    tag = fields.String()
    normalized = fields.String()
    verdict = fields.String(metadata={"enum": [status.value for status in HashtagStatus]})
    reason = fields.String(allow_none=True)
    # What the reason is made of, so a page can say it in the visitor's language (docs/WEB.md).
    category = fields.String(allow_none=True, metadata={"description": "category of the matched term"})
    term = fields.String(allow_none=True, metadata={"description": "the matched term"})
    view = fields.String(allow_none=True, metadata={"description": "how the tag was read when it matched"})


class Validation(Schema):
    valid = fields.Boolean()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    hashtags = fields.List(fields.Nested(HashtagVerdict))
