"""Response schemas of the public profile API."""

from marshmallow import fields, validate

from api.schemas import Schema


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


class ProfileListQuery(Schema):
    hashtag = fields.String(load_default=None, metadata={
        "description": "Only profiles with this approved hashtag (with or without '#', any case)"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000),
                          metadata={"description": "1-based page number"})


class ProfilePage(Schema):
    items = fields.List(fields.Nested(PublicProfile))
    page = fields.Integer()
    page_size = fields.Integer(metadata={"description": "PROFILES_PAGE_SIZE"})
    total = fields.Integer(metadata={"description": "Profiles matching, over all pages"})
    next_page = fields.Integer(allow_none=True, metadata={"description": "null on the last page"})


class ProfileEdit(Schema):
    """The owner's changes: any of the text fields (the profile form's rules)."""

    name = fields.String(allow_none=True)
    url = fields.String(allow_none=True)
    activity_hobbies = fields.String(allow_none=True)
    hashtags = fields.Raw(allow_none=True, metadata={"description": "'#a #b' or a list; replaces the tags"})
    is_incognito = fields.Boolean()

    class Meta:
        unknown = "include"  # unknown fields are refused by the form's rules with a clear message


class HashtagState(Schema):
    tag = fields.String()
    status = fields.String(metadata={"description": "approved, needs_review (hidden until decided) or rejected"})
    reason = fields.String(allow_none=True)


class OwnProfile(PublicProfile):
    hashtag_status = fields.List(fields.Nested(HashtagState), metadata={"description": "every tag with its status"})
