"""Standard Webhooks signatures: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``.

The signed content is ``{id}.{timestamp}.{body}``; each secret (``whsec_`` + base64)
gives one ``v1,<base64 HMAC-SHA256>`` and all of them travel space-separated, so a
receiver that knows either the old or the new secret verifies during a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from shared.errors import InvalidInput

SECRET_PREFIX = "whsec_"


class InvalidWebhookSecret(InvalidInput):
    code = "invalid_webhook_secret"
    title = "The webhook secret is not valid"


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


def sign(message_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """Return one ``v1,<signature>`` of the message."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(message_id: str, timestamp: int, body: bytes, secrets_: Iterable[str]) -> dict[str, str]:
    """Return the three Standard Webhooks headers, signed with every active secret."""
    signatures = [sign(message_id, timestamp, body, secret) for secret in dict.fromkeys(secrets_)]
    if not signatures:
        raise InvalidWebhookSecret("no webhook secret to sign with")
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(signatures)}
