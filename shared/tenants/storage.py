"""The one resolver from a tenant or a job to its storage, shared by the API and the workers.

A tenant with a storage connection gets a provider built from it, under its own
path prefix; a tenant without one gets the platform default storage under
``tenants/<id>/`` (the seeded default tenant keeps the platform root, as before).
Each connection a tenant uses is recorded once in ``storage_connections`` (never
changed) and a new job records the one it is written to, so changing a tenant's
connection (noticed within ``TENANT_CACHE_SECONDS``) affects new jobs only: old jobs'
links and in-flight jobs' steps keep using the connection they started with.
"""

from __future__ import annotations

import functools
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select

from shared.db import Database, get_database, utcnow
from shared.settings import Settings, SettingsError
from shared.storage import PROVIDERS, StorageError, build_storage, get_default_storage
from shared.storage.base import StorageProvider, validate_prefix
from shared.storage.errors import InvalidKey
from shared.tenants.errors import (
    InvalidStorageConfig,
    StorageCheckFailed,
    StorageConnectionNotFound,
    TenantNotFound,
)
from shared.tenants.info import tenant_info
from shared.tenants.models import DEFAULT_TENANT_ID, StorageConnection, Tenant

TENANT_STORAGE_PREFIX = "tenant-"
CONNECTION_STORAGE_PREFIX = "storage-"
MAX_BUILT_CONNECTIONS = 256
CHECK_KEY = "showreel-check/{id}.txt"

# Options each provider accepts in a tenant's connection (anything else is a typo).
ALLOWED_OPTIONS: dict[str, set[str]] = {
    "local": {"root"},
    "memory": set(),
    "s3": {"endpoint", "bucket", "access_key", "secret_key", "region", "secure"},
    "yandex_disk": {"token", "root", "base_url"},
}
SECRET_OPTIONS = frozenset({"secret_key", "token"})


def storage_name(tenant_id: uuid.UUID) -> str:
    """The name of a tenant's platform storage (under ``tenants/<id>/``) in signed links."""
    return f"{TENANT_STORAGE_PREFIX}{tenant_id}"


def connection_name(storage_id: uuid.UUID) -> str:
    """The name of a recorded storage connection in signed links."""
    return f"{CONNECTION_STORAGE_PREFIX}{storage_id}"


def normalized_config(settings: Settings, tenant_id: uuid.UUID, config: Any) -> dict[str, Any]:
    """Return a tenant's storage connection with its defaults filled in; raise ``invalid_storage_config``."""
    if not isinstance(config, dict):
        raise InvalidStorageConfig("storage must be an object with a provider")
    provider = str(config.get("provider", "")).lower()
    if provider not in PROVIDERS:
        raise InvalidStorageConfig(f"unknown storage provider {provider!r}; use one of {', '.join(PROVIDERS)}")
    unknown = sorted(set(config) - ALLOWED_OPTIONS[provider] - {"provider", "prefix"})
    if unknown:
        raise InvalidStorageConfig(f"{provider} storage does not take {', '.join(unknown)}")
    normalized = {**config, "provider": provider}
    if provider == "local" and not normalized.get("root"):
        # No folder of its own: the platform's storage folder, kept apart by the prefix.
        normalized["root"] = settings.LOCAL_STORAGE_DIR
        normalized.setdefault("prefix", f"tenants/{tenant_id}/")
    try:
        normalized["prefix"] = validate_prefix(str(normalized.get("prefix") or ""))
    except InvalidKey as exc:
        raise InvalidStorageConfig(f"storage prefix: {exc.detail}") from None
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
        raise InvalidStorageConfig(str(exc)) from None
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
    """Resolves where objects live: a tenant's current storage, or the one a job recorded.

    ``storages(job)`` (anything with ``tenant_id`` and ``storage_id``) is the storage the
    job was written to: a recorded connection (``storage_id``) or, without one, the
    platform storage (under ``tenants/<id>/`` for tenants other than the default).
    ``storages(tenant_id)`` is the tenant's current storage. ``by_name`` finds the storage a
    signed link names.
    """

    def __init__(self, settings: Settings, db: Database | None = None):
        self.settings = settings
        self.db = db or get_database(settings)
        self._platform: dict[uuid.UUID, StorageProvider] = {}
        # Connections never change, so a built one stays valid; bounded, oldest dropped first.
        self._connections: OrderedDict[uuid.UUID, StorageProvider] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, where: Any) -> StorageProvider:
        if isinstance(where, uuid.UUID | str):
            tenant_id = uuid.UUID(str(where))
            return self.for_connection(tenant_id, self.current_connection(tenant_id))
        return self.for_connection(uuid.UUID(str(where.tenant_id)), getattr(where, "storage_id", None))

    def current_connection(self, tenant_id: uuid.UUID) -> uuid.UUID | None:
        """The id of the tenant's connection as configured now (recorded on first use); None: platform."""
        config = tenant_info(self.db, self.settings, tenant_id).storage_config
        if config is None:
            return None
        # One small indexed read per new job, not cached: the row must exist when the job names it.
        return _record_connection(self.db, tenant_id, dict(config))

    def for_connection(self, tenant_id: uuid.UUID, storage_id: uuid.UUID | None) -> StorageProvider:
        """The storage of a recorded connection, or the tenant's platform storage when ``storage_id`` is None."""
        if storage_id is None:
            return self.platform_storage(tenant_id)
        storage_id = uuid.UUID(str(storage_id))
        with self._lock:
            built = self._connections.get(storage_id)
            if built is not None:
                self._connections.move_to_end(storage_id)
                return built
        config = _connection_config(self.db, storage_id)
        if config is None:
            raise StorageConnectionNotFound(f"no storage connection {storage_id}")
        storage = build_storage(self.settings, name=connection_name(storage_id), config=config)
        with self._lock:
            self._connections[storage_id] = storage
            while len(self._connections) > MAX_BUILT_CONNECTIONS:
                self._connections.popitem(last=False)
        return storage

    def platform_storage(self, tenant_id: uuid.UUID) -> StorageProvider:
        """The platform storage as a tenant without a connection of its own uses it."""
        if tenant_id == DEFAULT_TENANT_ID:
            return get_default_storage(self.settings)
        with self._lock:
            built = self._platform.get(tenant_id)
        if built is None:
            prefix = f"{validate_prefix(self.settings.STORAGE_PREFIX)}tenants/{tenant_id}/"
            built = build_storage(self.settings, name=storage_name(tenant_id), prefix=prefix)
            with self._lock:
                self._platform[tenant_id] = built
        return built

    def by_name(self, name: str) -> StorageProvider | None:
        """The storage a signed download link names, or None when there is none of that name."""
        if name == get_default_storage(self.settings).name:
            return get_default_storage(self.settings)
        for prefix, resolve in ((CONNECTION_STORAGE_PREFIX, self._by_connection),
                                (TENANT_STORAGE_PREFIX, self._by_tenant)):
            if name.startswith(prefix):
                try:
                    storage = resolve(uuid.UUID(name[len(prefix):]))
                except (ValueError, TenantNotFound, StorageConnectionNotFound):
                    return None
                return storage if storage.name == name else None
        return None

    def _by_connection(self, storage_id: uuid.UUID) -> StorageProvider:
        tenant_id = _connection_tenant(self.db, storage_id)
        if tenant_id is None:
            raise StorageConnectionNotFound(f"no storage connection {storage_id}")
        return self.for_connection(tenant_id, storage_id)

    def _by_tenant(self, tenant_id: uuid.UUID) -> StorageProvider:
        tenant_info(self.db, self.settings, tenant_id)  # raises TenantNotFound
        return self.platform_storage(tenant_id)

    def every_storage(self) -> Iterator[tuple[str, Callable[[], StorageProvider]]]:
        """(name, builder) of every storage jobs may have written to besides the platform root."""
        with self.db.session() as session:
            tenants = list(session.scalars(select(Tenant.id).where(Tenant.id != DEFAULT_TENANT_ID)
                                           .order_by(Tenant.created_at, Tenant.id)))
            connections = session.execute(select(StorageConnection.id, StorageConnection.tenant_id)
                                          .order_by(StorageConnection.created_at, StorageConnection.id)).all()
        for tenant_id in tenants:
            yield storage_name(tenant_id), functools.partial(self.platform_storage, tenant_id)
        for storage_id, tenant_id in connections:
            yield connection_name(storage_id), functools.partial(self.for_connection, tenant_id, storage_id)


def _record_connection(db: Database, tenant_id: uuid.UUID, config: dict[str, Any]) -> uuid.UUID:
    """Return the id of the tenant's connection with exactly ``config``, adding one if there is none."""
    with db.session() as session:
        for row in session.scalars(select(StorageConnection).where(StorageConnection.tenant_id == tenant_id)
                                   .order_by(StorageConnection.created_at.desc())):
            if row.config == config:
                return row.id
        # Two processes may both add one: two rows of the same connection are harmless.
        row = StorageConnection(id=uuid.uuid4(), tenant_id=tenant_id, config=config, created_at=utcnow())
        session.add(row)
        return row.id


def _connection_config(db: Database, storage_id: uuid.UUID) -> dict[str, Any] | None:
    # Read-only, like tenant_info: a step resolves its storage inside its own transaction.
    with db.read_only() as connection:
        config = connection.scalar(select(StorageConnection.config).where(StorageConnection.id == storage_id))
    return dict(config) if config is not None else None


def _connection_tenant(db: Database, storage_id: uuid.UUID) -> uuid.UUID | None:
    with db.read_only() as connection:
        tenant_id = connection.scalar(select(StorageConnection.tenant_id).where(StorageConnection.id == storage_id))
    return tenant_id


_resolvers: weakref.WeakKeyDictionary[Settings, TenantStorages] = weakref.WeakKeyDictionary()
_resolvers_lock = threading.Lock()


def get_tenant_storages(settings: Settings) -> TenantStorages:
    """Return this process's resolver for these settings (one per settings object)."""
    with _resolvers_lock:
        resolver = _resolvers.get(settings)
        if resolver is None:
            resolver = _resolvers[settings] = TenantStorages(settings)
        return resolver
