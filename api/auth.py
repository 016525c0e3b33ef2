"""Who is calling: the tenant behind the bearer API key."""

from __future__ import annotations

import uuid

from flask import current_app, g, request

from shared.tenants.service import resolve_tenant


def current_tenant_id() -> uuid.UUID:
    if "tenant_id" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        api_key = token.strip() if scheme.lower() == "bearer" else None
        g.tenant_id = resolve_tenant(current_app.extensions["showreel.db"], current_app.config["SETTINGS"],
                                     api_key)
    return g.tenant_id
