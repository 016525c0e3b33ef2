"""Test set-up: real PostgreSQL and Redis, schema made by the migrations.

The environment is fixed here, before any project module reads its settings.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_RUN_DIR = Path(tempfile.mkdtemp(prefix="showreel-tests-"))
# One database per test run, so two runs on one machine never drop each other's schema.
TEST_DATABASE = os.environ.get("SHOWREEL_TEST_DATABASE", f"showreel_test_{os.getpid()}")
PG_ADMIN_URL = os.environ.get("SHOWREEL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

os.environ.update({
    "APP_ENV": "embedded",
    "DATA_DIR": str(_RUN_DIR / "data"),
    "TEMP_DIR": str(_RUN_DIR / "tmp"),
    "LOCAL_STORAGE_DIR": str(_RUN_DIR / "storage"),
    "STORAGE_PROVIDER": "local",
    "SECRET_KEY": "test-secret-key",
    "DATABASE_URL": PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + TEST_DATABASE,
    "REDIS_URL": os.environ.get("SHOWREEL_TEST_REDIS", "redis://127.0.0.1:6379/15"),
    "RETRY_MIN_BACKOFF_MS": "200",
    "RETRY_MAX_BACKOFF_MS": "2000",
    "LOG_LEVEL": "INFO",
})

import pytest

from tests.support.db import create_database, drop_database, truncate_all


@pytest.fixture(scope="session")
def run_dir() -> Path:
    return _RUN_DIR


@pytest.fixture(scope="session")
def settings():
    from shared.settings import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def database(settings):
    """The test PostgreSQL database, dropped, re-created and migrated once per run."""
    from shared.db import get_database
    from shared.db.migrate import upgrade

    create_database(PG_ADMIN_URL, TEST_DATABASE)
    upgrade(settings.DATABASE_URL)
    db = get_database(settings)
    yield db
    db.dispose()
    drop_database(PG_ADMIN_URL, TEST_DATABASE)


@pytest.fixture()
def db(database, settings):
    """The migrated database, emptied of everything but the seeded default tenant,
    with empty temp and storage folders."""
    truncate_all(database)
    for folder in (settings.TEMP_DIR, settings.LOCAL_STORAGE_DIR):
        shutil.rmtree(folder, ignore_errors=True)
    yield database


@pytest.fixture()
def redis_client(settings):
    from shared.redis_client import get_redis

    client = get_redis(settings)
    client.flushdb()
    yield client


@pytest.fixture()
def app(db, redis_client, settings):
    from api.app import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def client(app):
    return app.test_client()


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_RUN_DIR, ignore_errors=True)
