"""Standard Webhooks signatures: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``.

The signed content is ``{id}.{timestamp}.{body}``; each secret (``whsec_`` + base64)
gives one ``v1,<base64 HMAC-SHA256>`` and all of them travel space-separated, so a
receiver that knows either the old or the new secret verifies during a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from shared.tenants.errors import InvalidWebhookSecret
from shared.tenants.secrets import secret_key


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
