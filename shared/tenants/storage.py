"""The one resolver from a tenant to its storage, shared by the API and the workers.

A tenant with a storage connection gets a provider built from it, under its own
path prefix; a tenant without one gets the platform default storage under
``tenants/<id>/`` (the seeded default tenant keeps the platform root, as before).
Providers are cached per process and rebuilt when the tenant's connection changes,
noticed within ``TENANT_CACHE_SECONDS``.
"""

from __future__ import annotations

import json
import threading
import uuid
import weakref
from typing import Any

from shared.db import Database, get_database
from shared.errors import InvalidInput, Unprocessable
from shared.settings import Settings, SettingsError
from shared.storage import PROVIDERS, StorageError, build_storage, get_default_storage
from shared.storage.base import StorageProvider, validate_prefix
from shared.storage.errors import InvalidKey
from shared.tenants.models import DEFAULT_TENANT_ID
from shared.tenants.service import TenantNotFound, tenant_info

TENANT_STORAGE_PREFIX = "tenant-"
CHECK_KEY = "showreel-check/{id}.txt"

# Options each provider accepts in a tenant's connection (anything else is a typo).
ALLOWED_OPTIONS: dict[str, set[str]] = {
    "local": {"root"},
    "memory": set(),
    "s3": {"endpoint", "bucket", "access_key", "secret_key", "region", "secure"},
    "yandex_disk": {"token", "root", "base_url"},
}
SECRET_OPTIONS = frozenset({"secret_key", "token"})


class StorageCheckFailed(Unprocessable):
    code = "storage_check_failed"
    title = "The storage connection did not pass a test write"


def storage_name(tenant_id: uuid.UUID) -> str:
    return f"{TENANT_STORAGE_PREFIX}{tenant_id}"


def normalized_config(settings: Settings, tenant_id: uuid.UUID, config: Any) -> dict[str, Any]:
    """Return a tenant's storage connection with its defaults filled in; raise ``invalid_storage_config``."""
    if not isinstance(config, dict):
        raise InvalidInput("storage must be an object with a provider", code="invalid_storage_config")
    provider = str(config.get("provider", "")).lower()
    if provider not in PROVIDERS:
        raise InvalidInput(f"unknown storage provider {provider!r}; use one of {', '.join(PROVIDERS)}",
                           code="invalid_storage_config")
    unknown = sorted(set(config) - ALLOWED_OPTIONS[provider] - {"provider", "prefix"})
    if unknown:
        raise InvalidInput(f"{provider} storage does not take {', '.join(unknown)}", code="invalid_storage_config")
    normalized = {**config, "provider": provider}
    if provider == "local" and not normalized.get("root"):
        # No folder of its own: the platform's storage folder, kept apart by the prefix.
        normalized["root"] = settings.LOCAL_STORAGE_DIR
        normalized.setdefault("prefix", f"tenants/{tenant_id}/")
    try:
        normalized["prefix"] = validate_prefix(str(normalized.get("prefix") or ""))
    except InvalidKey as exc:
        raise InvalidInput(f"storage prefix: {exc.detail}", code="invalid_storage_config") from None
    return normalized


def check_storage_config(settings: Settings, tenant_id: uuid.UUID, config: Any) -> dict[str, Any]:
    """Validate a connection with a real write, read-back and delete; return it normalized.

    Raises ``invalid_storage_config`` for a malformed connection and
    ``storage_check_failed`` when the backend refuses or is unreachable.
    """
    normalized = normalized_config(settings, tenant_id, config)
    try:
        storage = build_storage(settings, name=storage_name(tenant_id), config=normalized)
    except (SettingsError, ValueError) as exc:
        raise InvalidInput(str(exc), code="invalid_storage_config") from None
    key = CHECK_KEY.format(id=uuid.uuid4().hex)
    probe = b"showreel storage check\n"
    try:
        storage.check()
        storage.put_bytes(key, probe, "text/plain")
        with storage.open(key) as stream:
            if stream.read() != probe:
                raise StorageCheckFailed("the test file read back differently")
        storage.delete(key)
    except StorageCheckFailed:
        raise
    except (StorageError, InvalidKey, OSError) as exc:
        raise StorageCheckFailed(f"{normalized['provider']} storage: {getattr(exc, 'detail', exc)}") from None
    return normalized


def public_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """A storage connection with its secrets masked, for responses and listings."""
    if config is None:
        return None
    return {name: ("***" if name in SECRET_OPTIONS and value else value) for name, value in config.items()}


class TenantStorages:
    """Callable ``tenant_id -> StorageProvider``; also finds a storage by the name in a signed link."""

    def __init__(self, settings: Settings, db: Database | None = None):
        self.settings = settings
        self.db = db or get_database(settings)
        self._built: dict[uuid.UUID, tuple[str, StorageProvider]] = {}
        self._lock = threading.Lock()

    def __call__(self, tenant_id: uuid.UUID) -> StorageProvider:
        tenant_id = uuid.UUID(str(tenant_id))
        info = tenant_info(self.db, self.settings, tenant_id)
        if info.storage_config is None:
            if tenant_id == DEFAULT_TENANT_ID:
                return get_default_storage(self.settings)
            config = None
            prefix = f"{validate_prefix(self.settings.STORAGE_PREFIX)}tenants/{tenant_id}/"
        else:
            config, prefix = dict(info.storage_config), None
        fingerprint = json.dumps([config, prefix], sort_keys=True, default=str)
        with self._lock:
            built = self._built.get(tenant_id)
            if built is not None and built[0] == fingerprint:
                return built[1]
        storage = build_storage(self.settings, name=storage_name(tenant_id), prefix=prefix, config=config)
        with self._lock:
            self._built[tenant_id] = (fingerprint, storage)
        return storage

    def by_name(self, name: str) -> StorageProvider | None:
        """The storage a signed download link names, or None when there is none of that name."""
        if name == get_default_storage(self.settings).name:
            return get_default_storage(self.settings)
        if not name.startswith(TENANT_STORAGE_PREFIX):
            return None
        try:
            storage = self(uuid.UUID(name[len(TENANT_STORAGE_PREFIX):]))
        except (ValueError, TenantNotFound):
            return None
        return storage if storage.name == name else None


_resolvers: weakref.WeakKeyDictionary[Settings, TenantStorages] = weakref.WeakKeyDictionary()
_resolvers_lock = threading.Lock()


def get_tenant_storages(settings: Settings) -> TenantStorages:
    """Return this process's resolver for these settings (one per settings object)."""
    with _resolvers_lock:
        resolver = _resolvers.get(settings)
        if resolver is None:
            resolver = _resolvers[settings] = TenantStorages(settings)
        return resolver
