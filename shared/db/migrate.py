"""Run Alembic migrations programmatically (the only way the schema is made)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]

# Tables owned by libraries (APScheduler) are created by migrations but not mapped.
UNMAPPED_TABLES = {"scheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave library-owned tables out of Alembic's model comparison."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return getattr(table, "name", name) not in UNMAPPED_TABLES


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
