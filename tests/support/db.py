"""Database helpers for tests."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from shared.db import Database
from shared.db.session import normalize_url
from shared.tenants.models import DEFAULT_TENANT_ID

# Child tables first; the default tenant row from the migration stays.
TABLES = ("idempotency_records", "media_jobs", "outbox_events", "api_keys")


def create_database(admin_url: str, name: str) -> None:
    engine = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
        ), {"name": name})
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def truncate_all(db: Database) -> None:
    with db.session() as session:
        for table in TABLES:
            session.execute(text(f"DELETE FROM {table}"))
        session.execute(text("DELETE FROM tenants WHERE id <> :id"), {"id": DEFAULT_TENANT_ID})
