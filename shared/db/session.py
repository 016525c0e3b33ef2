"""Engine and session factory built from settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from shared.settings import Settings, get_settings


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# Execution option of connections that only read (see build_engine's SQLite hook).
READ_ONLY = "showreel_read_only"


def build_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Several processes share the embedded SQLite file: WAL lets readers run
        # beside the one writer, and the busy timeout queues writers instead of failing.
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - driver hook
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):  # pragma: no cover - driver hook
            # BEGIN IMMEDIATE takes the write lock up front, so two writers never
            # deadlock upgrading read locks; SQLite has no SELECT ... FOR UPDATE.
            # Read-only connections (READ_ONLY option) begin deferred: under WAL they read
            # beside a writer, even one held open by the same thread.
            if connection.get_execution_options().get(READ_ONLY):
                connection.exec_driver_sql("BEGIN")
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


class Database:
    """An engine plus its session factory."""

    def __init__(self, url: str):
        self.url = normalize_url(url)
        self.engine = build_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session in a transaction: commit on success, roll back on error."""
        session = self.sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @contextmanager
    def read_only(self) -> Iterator[Connection]:
        """Yield a read-only connection (rolled back after): safe inside another transaction, as on
        SQLite it begins deferred and never waits for the writer (see build_engine)."""
        with self.engine.connect() as connection:
            try:
                yield connection.execution_options(**{READ_ONLY: True})
            finally:
                connection.rollback()

    def dispose(self) -> None:
        self.engine.dispose()


_databases: dict[str, Database] = {}


def get_database(settings: Settings | None = None) -> Database:
    """Return the process-wide database for these settings' URL."""
    url = normalize_url((settings or get_settings()).DATABASE_URL)
    database = _databases.get(url)
    if database is None:
        database = _databases[url] = Database(url)
    return database
