"""The tenants' errors (each class one stable code)."""

from __future__ import annotations

from shared.errors import InvalidInput, NotFound


class TenantNotFound(NotFound):
    code = "tenant_not_found"
    title = "No such tenant"


class InvalidWebhookSecret(InvalidInput):
    code = "invalid_webhook_secret"
    title = "The webhook secret is not valid"
