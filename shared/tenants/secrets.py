"""A tenant's webhook signing secrets: ``whsec_`` + base64, as Standard Webhooks defines them.

The tenant owns its secrets; :mod:`shared.webhooks.signing` signs with them.
"""

from __future__ import annotations

import base64
import secrets

from shared.tenants.errors import InvalidWebhookSecret

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """Return a fresh ``whsec_`` secret (24 random bytes, as the reference libraries make)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    """Return the HMAC key of a ``whsec_`` secret; raise :class:`InvalidWebhookSecret` if malformed."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise InvalidWebhookSecret("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except ValueError:
        raise InvalidWebhookSecret("a webhook secret is whsec_ followed by base64") from None
    if not 16 <= len(key) <= 64:
        raise InvalidWebhookSecret("a webhook secret holds 16 to 64 bytes")
    return key


def parse_secrets(raw: str) -> list[str]:
    """Split a setting holding one or more secrets (spaces or commas between them)."""
    found = [part for part in raw.replace(",", " ").split() if part]
    for secret in found:
        secret_key(secret)
    return found
