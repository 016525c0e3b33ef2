"""Request and response schemas of the ops tenants API."""

from marshmallow import fields, validate

from api.schemas import Schema


class ApiKey(Schema):
    id = fields.UUID()
    prefix = fields.String(metadata={"description": "First characters of the key, to tell keys apart"})
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class NewApiKey(ApiKey):
    key = fields.String(metadata={"description": "The key itself: shown this once, stored only as SHA-256"})


class WebhookSecretInfo(Schema):
    id = fields.String()
    created_at = fields.String()


class WebhookSecret(WebhookSecretInfo):
    secret = fields.String(metadata={"description": "whsec_... signing secret: shown this once"})


class Tenant(Schema):
    id = fields.UUID()
    name = fields.String()
    storage = fields.Dict(allow_none=True, metadata={
        "description": "Storage connection (secrets masked); null: the platform default under tenants/<id>/"})
    limits = fields.Dict(metadata={"description": "The tenant's own limits"})
    effective_limits = fields.Dict(metadata={"description": "Limits in force (own or platform defaults)"})
    webhook_secrets = fields.List(fields.Nested(WebhookSecretInfo), metadata={
        "description": "Active signing secrets, newest last (the secrets themselves are shown only on "
                       "create and when added)"})
    api_keys = fields.List(fields.Nested(ApiKey))
    created_at = fields.DateTime()


class CreatedTenant(Tenant):
    api_key = fields.String(metadata={"description": "The first API key: shown this once"})
    webhook_secrets = fields.List(fields.Nested(WebhookSecret), metadata={
        "description": "The first signing secret: shown this once"})


class CreateTenant(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=63),
                         metadata={"description": "Lowercase letters, digits, '-' and '_'"})
    storage = fields.Dict(load_default=None, allow_none=True, metadata={
        "description": 'e.g. {"provider": "s3", "endpoint": "minio:9000", "bucket": "acme", "access_key": "...", '
                       '"secret_key": "...", "prefix": "showreel/"} or {"provider": "yandex_disk", "token": "...", '
                       '"root": "app:/showreel"}; checked with a test write'})
    limits = fields.Dict(load_default=dict, metadata={
        "description": '{"requests_per_minute": n, "video_concurrency": n}'})


class UpdateTenant(Schema):
    storage = fields.Dict(allow_none=True, metadata={"description": "New connection (test write first); null: "
                                                                    "the platform default"})
    limits = fields.Dict(metadata={"description": "Replaces the tenant's own limits"})


class AddWebhookSecret(Schema):
    secret = fields.String(load_default=None, allow_none=True,
                           metadata={"description": "whsec_... to add; omitted: one is generated"})
