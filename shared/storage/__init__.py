"""The one place that turns settings (or a tenant's storage config) into a storage provider."""

from __future__ import annotations

import importlib
import os
import secrets
import threading
import weakref
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from shared.settings import Settings, SettingsError
from shared.storage.base import StorageProvider, StoredObject
from shared.storage.errors import (
    InvalidKey,
    InvalidSignature,
    LinkExpired,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)

__all__ = [
    "PROVIDERS", "InvalidKey", "InvalidSignature", "LinkExpired", "ObjectNotFound", "StorageError",
    "StorageProvider", "StorageUnavailable", "StoredObject", "build_storage", "get_default_storage",
    "provider_class", "signing_secret",
]

# Name -> "module:class". A provider's module is imported when a storage of it is first built, so
# a process that uses local storage never loads minio or requests (the web process stays small).
PROVIDERS: dict[str, str] = {
    "memory": "shared.storage.providers.memory:MemoryStorage",
    "local": "shared.storage.providers.local:LocalStorage",
    "s3": "shared.storage.providers.s3:S3Storage",
    "yandex_disk": "shared.storage.providers.yandex_disk:YandexDiskStorage",
}


def provider_class(provider: str) -> type[StorageProvider]:
    """Return the class of ``provider`` (a key of PROVIDERS), importing its module; raises KeyError."""
    module, _, name = PROVIDERS[provider].partition(":")
    return getattr(importlib.import_module(module), name)

_SECRET_FILE = "secret_key"


def build_storage(settings: Settings, *, name: str = "default", prefix: str | None = None,
                  config: Mapping[str, Any] | None = None) -> StorageProvider:
    """Build the storage ``name`` from ``config`` or, without one, from the platform settings.

    ``config`` is a tenant's own connection: ``{"provider": "s3", "endpoint": ...,
    "bucket": ..., "access_key": ..., "secret_key": ..., "region": ..., "secure": ...,
    "prefix": ...}``, ``{"provider": "local", "root": ...}`` or ``{"provider": "yandex_disk",
    "token": ..., "root": "app:/showreel"}``. ``prefix`` overrides the
    configured one. Memory storages of one ``name`` share their objects process-wide.
    Raises :class:`SettingsError` for an unknown provider or a missing option.
    """
    options = dict(config) if config is not None else _platform_config(settings)
    provider = str(options.pop("provider", "")).lower()
    if provider not in PROVIDERS:
        raise SettingsError(f"unknown storage provider {provider!r}; use one of {', '.join(PROVIDERS)}")
    cls = provider_class(provider)
    configured_prefix = str(options.pop("prefix", "") or "")
    common: dict[str, Any] = {
        "name": name,
        "prefix": configured_prefix if prefix is None else prefix,
        "default_url_ttl": timedelta(seconds=settings.PRESIGNED_URL_TTL),
    }
    try:
        if provider == "s3":
            return cls(
                endpoint=options["endpoint"], bucket=options["bucket"],
                access_key=options.get("access_key", ""), secret_key=options.get("secret_key", ""),
                region=options.get("region", "us-east-1"), secure=bool(options.get("secure", False)),
                public_url=str(options.get("public_url") or ""), **common,
            )
        signed = {"public_base_url": settings.PUBLIC_BASE_URL, "secret": signing_secret(settings)}
        if provider == "local":
            return cls(options["root"], **signed, **common)
        if provider == "yandex_disk":
            return cls(token=options["token"], root=options.get("root") or "app:/showreel",
                       base_url=options.get("base_url") or "https://cloud-api.yandex.net",
                       allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS, **signed, **common)
        return cls(**signed, **common)
    except KeyError as missing:
        raise SettingsError(f"{provider} storage {name!r} needs the option {missing.args[0]!r}") from None


_defaults: weakref.WeakKeyDictionary[Settings, StorageProvider] = weakref.WeakKeyDictionary()
_defaults_lock = threading.Lock()


def get_default_storage(settings: Settings) -> StorageProvider:
    """Return the platform's default storage, built once per settings object."""
    with _defaults_lock:
        storage = _defaults.get(settings)
        if storage is None:
            storage = _defaults[settings] = build_storage(settings)
        return storage


def signing_secret(settings: Settings) -> str:
    """Return the key that signs local download links (memory and local storage).

    ``SECRET_KEY`` when set. In embedded mode without one, a random key is generated
    once under ``DATA_DIR`` and shared by every process using that folder. Raises
    :class:`SettingsError` in production without ``SECRET_KEY``.
    """
    if settings.SECRET_KEY:
        return str(settings.SECRET_KEY)
    if settings.is_production:
        raise SettingsError("SECRET_KEY is required in production to sign download links")
    return _embedded_secret(Path(settings.DATA_DIR) / _SECRET_FILE)


def _platform_config(settings: Settings) -> dict[str, Any]:
    return {
        "provider": settings.STORAGE_PROVIDER,
        "prefix": settings.STORAGE_PREFIX,
        "root": settings.LOCAL_STORAGE_DIR,
        "endpoint": settings.S3_ENDPOINT,
        "access_key": settings.S3_ACCESS_KEY,
        "secret_key": settings.S3_SECRET_KEY,
        "bucket": settings.S3_BUCKET,
        "region": settings.S3_REGION,
        "secure": settings.S3_SECURE,
        "public_url": settings.S3_PUBLIC_URL,
    }


def _embedded_secret(path: Path) -> str:
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        # link() fails if the file exists, so when two processes race the first one wins
        # and both end up with its key; readers never see a half-written file.
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    secret = path.read_text().strip()
    if not secret:
        raise SettingsError(f"{path} is empty; delete it to generate a new signing key")
    return secret
