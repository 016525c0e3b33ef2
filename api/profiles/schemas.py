"""Response schemas of the public profile API."""

from marshmallow import Schema, fields


class PublicProfile(Schema):
    wallet = fields.String(metadata={"description": "EIP-55 checksum address"})
    name = fields.String(allow_none=True, metadata={"description": "null on incognito profiles"})
    url = fields.String(allow_none=True, metadata={"description": "null on incognito profiles"})
    activity_hobbies = fields.String(allow_none=True)
    is_incognito = fields.Boolean()
    hashtags = fields.List(fields.String(), metadata={"description": "approved hashtags only"})
    avatar = fields.Dict(allow_none=True)
    video = fields.Dict(allow_none=True)
    published_at = fields.DateTime()
    updated_at = fields.DateTime()
