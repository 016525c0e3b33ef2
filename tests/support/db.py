"""Database helpers for tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, text

from shared.db import Database
from shared.db.session import normalize_url
from shared.tenants.models import DEFAULT_TENANT_ID

# Child tables first; the default tenant row from the migration stays.
TABLES = ("submissions", "tus_uploads", "siwe_nonces", "wallet_sessions", "upload_reservations", "uploads", "profile_hashtags", "profiles", "users", "moderation_appeals", "moderation_actions", "hashtags",
          "moderation_lexicon_versions", "moderation_terms", "moderation_allowlist", "moderators",
          "webhook_deliveries", "webhook_endpoints", "idempotency_records", "media_jobs", "storage_connections",
          "outbox_events",
          "api_keys", "ops_runs", "ops_schedules", "ops_tokens", "scheduler_jobs")


def create_database(admin_url: str, name: str) -> None:
    drop_database(admin_url, name)
    _admin(admin_url, f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(admin_url: str, statement: str) -> None:
    engine = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def truncate_all(db: Database) -> None:
    with db.session() as session:
        for table in TABLES:
            session.execute(text(f"DELETE FROM {table}"))
        session.execute(text("DELETE FROM tenants WHERE id <> :id"), {"id": DEFAULT_TENANT_ID})
        # The default tenant stays, back to how the migrations left it.
        session.execute(text("UPDATE tenants SET storage_config = NULL, limits = '{}', webhook_secrets = '[]' "
                             "WHERE id = :id"), {"id": DEFAULT_TENANT_ID})
    from shared.tenants.service import forget_tenant

    forget_tenant()


@contextlib.contextmanager
def scratch_database(admin_url: str, database_url: str, name: str) -> Iterator[tuple[str, Engine]]:
    """A database of its own (``name``, next to ``database_url``'s), dropped afterwards: for migration tests."""
    from shared.db.session import build_engine

    url = database_url.rsplit("/", 1)[0] + "/" + name
    create_database(admin_url, name)
    engine = build_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        drop_database(admin_url, name)
