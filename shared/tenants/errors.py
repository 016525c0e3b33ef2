"""The tenants' errors (stable codes; docs/ERRORS.md)."""

from __future__ import annotations

from shared.errors import Conflict, InvalidInput, NotFound, Unauthorized, Unprocessable


class TenantNotFound(NotFound):
    code = "tenant_not_found"
    title = "No such tenant"


class InvalidWebhookSecret(InvalidInput):
    code = "invalid_webhook_secret"
    title = "The webhook secret is not valid"


class ApiKeyRequired(Unauthorized):
    code = "api_key_required"


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class InvalidTenantName(InvalidInput):
    code = "invalid_tenant_name"


class TenantExists(Conflict):
    code = "tenant_exists"


class TenantInUse(Conflict):
    """The default tenant, or a tenant that has media jobs (revoke its keys instead)."""

    code = "tenant_in_use"


class InvalidLimits(InvalidInput):
    code = "invalid_limits"


class TooManyWebhookSecrets(Conflict):
    code = "too_many_webhook_secrets"


class WebhookSecretNotFound(NotFound):
    code = "webhook_secret_not_found"


class InvalidStorageConfig(InvalidInput):
    """Unknown provider, an option the provider does not take, a missing option or an unsafe prefix."""

    code = "invalid_storage_config"


class StorageCheckFailed(Unprocessable):
    code = "storage_check_failed"
    title = "The storage connection did not pass a test write"


class StorageConnectionNotFound(NotFound):
    code = "storage_connection_not_found"
    title = "No such storage connection"
