"""Ops API for tenants (business clients): create, read, update, delete, keys, webhook secrets.

Every route needs ``Authorization: Bearer <OPS_TOKEN>``.
"""

from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import require_ops_token
from api.tenants import schemas
from shared.tenants import service
from shared.tenants.storage import public_config

blp = Blueprint("tenants", __name__, url_prefix="/api/tenants", description="Tenants, managed by ops (ops token)")
blp.before_request(require_ops_token)


def _deps():
    return current_app.extensions["showreel.db"], current_app.config["SETTINGS"]


def tenant_view(tenant) -> dict:
    db, settings = _deps()
    return {
        "id": tenant.id, "name": tenant.name, "storage": public_config(tenant.storage_config),
        "limits": dict(tenant.limits or {}),
        "effective_limits": {name: tenant.limits.get(name) or service.tenant_limit(db, settings, tenant.id, name)
                             for name in service.LIMIT_NAMES},
        "webhook_secrets": [service.secret_info(entry) for entry in tenant.webhook_secrets or []],
        "api_keys": service.list_keys(db, tenant.id),
        "created_at": tenant.created_at,
    }


@blp.route("/")
class Tenants(MethodView):
    @blp.response(200, schemas.Tenant(many=True))
    def get(self):
        """List the tenants."""
        db, _ = _deps()
        return [tenant_view(tenant) for tenant in service.list_tenants(db)]

    @blp.arguments(schemas.CreateTenant)
    @blp.response(201, schemas.CreatedTenant)
    def post(self, body):
        """Create a tenant with its first API key (shown once) and a webhook secret."""
        db, settings = _deps()
        tenant, key = service.create_tenant(db, settings, body["name"], storage=body["storage"],
                                            limits=body["limits"])
        # The only read of the first secret: later reads list ids and dates (rotate to get a new one).
        return {**tenant_view(tenant), "api_key": key, "webhook_secrets": list(tenant.webhook_secrets)}


@blp.route("/<uuid:tenant_id>/")
class TenantItem(MethodView):
    @blp.response(200, schemas.Tenant)
    def get(self, tenant_id: uuid.UUID):
        """Read a tenant."""
        db, _ = _deps()
        return tenant_view(service.get_tenant(db, tenant_id))

    @blp.arguments(schemas.UpdateTenant)
    @blp.response(200, schemas.Tenant)
    def patch(self, body, tenant_id: uuid.UUID):
        """Change a tenant's storage connection (checked with a test write) or limits."""
        db, settings = _deps()
        return tenant_view(service.update_tenant(db, settings, tenant_id, **body))

    @blp.response(204)
    def delete(self, tenant_id: uuid.UUID):
        """Delete a tenant that has no jobs (409 otherwise: revoke its keys instead)."""
        db, _ = _deps()
        service.delete_tenant(db, tenant_id)


@blp.route("/<uuid:tenant_id>/keys/")
class ApiKeys(MethodView):
    @blp.response(200, schemas.ApiKey(many=True))
    def get(self, tenant_id: uuid.UUID):
        """List a tenant's API keys (prefixes only)."""
        db, _ = _deps()
        return service.list_keys(db, tenant_id)

    @blp.response(201, schemas.NewApiKey)
    def post(self, tenant_id: uuid.UUID):
        """Issue another API key (for rotation); the key is shown this once."""
        db, _ = _deps()
        row, key = service.create_key(db, tenant_id)
        return {"id": row.id, "prefix": row.prefix, "created_at": row.created_at, "revoked_at": None, "key": key}


@blp.route("/<uuid:tenant_id>/keys/<uuid:key_id>/")
class ApiKeyItem(MethodView):
    @blp.response(200, schemas.ApiKey)
    def delete(self, tenant_id: uuid.UUID, key_id: uuid.UUID):
        """Revoke an API key at once."""
        db, _ = _deps()
        return service.revoke_key(db, tenant_id, key_id)


@blp.route("/<uuid:tenant_id>/webhook-secrets/")
class WebhookSecrets(MethodView):
    @blp.arguments(schemas.AddWebhookSecret)
    @blp.response(201, schemas.WebhookSecret)
    def post(self, body, tenant_id: uuid.UUID):
        """Add a webhook signing secret (shown this once): deliveries carry a signature per active secret."""
        db, _ = _deps()
        return service.add_webhook_secret(db, tenant_id, body["secret"])


@blp.route("/<uuid:tenant_id>/webhook-secrets/<secret_id>/")
class WebhookSecretItem(MethodView):
    @blp.response(204)
    def delete(self, tenant_id: uuid.UUID, secret_id: str):
        """Remove a webhook signing secret (the end of a rotation)."""
        db, _ = _deps()
        service.remove_webhook_secret(db, tenant_id, secret_id)
