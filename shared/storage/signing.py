"""Signed download links for providers that cannot presign natively (memory, local).

A link looks like ``{PUBLIC_BASE_URL}/files/{key}?token=...``. The token is an
HMAC-SHA256-signed payload naming the storage, the key, the download file name
and the expiry time, so none of them can be changed without the secret. The web
route that serves ``/files/<key>`` calls :func:`resolve_download` and streams the
object from the storage it names.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from itsdangerous import BadSignature, URLSafeSerializer

from shared.storage.base import validate_key
from shared.storage.errors import InvalidKey, InvalidSignature, LinkExpired

__all__ = ["InvalidSignature", "LinkExpired", "resolve_download", "sign", "signed_url", "verify"]

# The salt keeps these tokens from being valid for any other use of the same secret.
_SALT = "showreel.storage.download"


def sign(storage_name: str, key: str, expires_at: datetime, filename: str | None, secret: str) -> str:
    """Return a URL-safe token granting a download of ``key`` until ``expires_at``."""
    payload = {
        "s": storage_name,
        "k": validate_key(key),
        "f": filename,
        "e": int(_aware(expires_at).timestamp()),
    }
    return _serializer(secret).dumps(payload)


def signed_url(base_url: str, storage_name: str, key: str, expires_at: datetime,
               filename: str | None, secret: str) -> str:
    """Return the full ``{base_url}/files/{key}?token=...`` download link."""
    token = sign(storage_name, key, expires_at, filename, secret)
    return f"{base_url.rstrip('/')}/files/{quote(key, safe='/')}?{urlencode({'token': token})}"


def verify(token: str, secret: str, *, now: datetime | None = None) -> tuple[str, str, str | None]:
    """Return ``(storage_name, key, filename)`` granted by ``token``.

    Raises :class:`InvalidSignature` if the token was altered or signed with another
    secret, :class:`LinkExpired` if it was genuine but its time is up.
    """
    if not secret:
        raise ValueError("a signing secret is required")
    try:
        payload: Any = _serializer(secret).loads(token)
    except BadSignature:
        raise InvalidSignature() from None
    try:
        storage_name, key, filename, expires = payload["s"], payload["k"], payload["f"], payload["e"]
        if not (isinstance(storage_name, str) and isinstance(key, str)
                and isinstance(filename, (str, type(None))) and isinstance(expires, int)):
            raise TypeError
        validate_key(key)
    except (KeyError, TypeError, InvalidKey):
        # Only our own secret can produce a valid signature, so this is a token from an
        # incompatible version rather than an attack; refuse it all the same.
        raise InvalidSignature("the download link is malformed") from None
    current = _aware(now) if now is not None else datetime.now(UTC)
    if current.timestamp() >= expires:
        raise LinkExpired()
    return storage_name, key, filename


def resolve_download(token: str, secret: str, now: datetime | None = None, *,
                     key: str | None = None) -> tuple[str, str, str | None]:
    """Return ``(storage_name, key, filename)`` for a ``/files/<key>?token=`` request.

    Pass the key from the URL path as ``key``: a link whose path was edited to
    another key is refused. Raises :class:`InvalidSignature` or :class:`LinkExpired`.
    """
    storage_name, granted_key, filename = verify(token, secret, now=now)
    if key is not None and key != granted_key:
        raise InvalidSignature("the download link does not match the requested file")
    return storage_name, granted_key, filename


def _serializer(secret: str) -> URLSafeSerializer:
    if not secret:
        raise ValueError("a signing secret is required")
    return URLSafeSerializer(secret, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256})


def _aware(moment: datetime) -> datetime:
    # A naive datetime would be read in the machine's local zone; links are UTC only.
    if moment.tzinfo is None:
        raise ValueError("use timezone-aware datetimes for link expiry")
    return moment
