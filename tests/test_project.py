"""Promises the project makes about itself: compose, Procfile, settings docs, migrations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import inspect as sa_inspect

from shared import settings as settings_module
from shared.db.session import build_engine

ROOT = Path(__file__).resolve().parents[1]


def procfile_names() -> list[str]:
    return [line.split(":", 1)[0] for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()]


def test_procfile_has_every_process_of_the_spec():
    assert procfile_names() == ["web", "relay", "dispatcher", "worker-video", "worker-media", "worker-light",
                                "scheduler"]


def test_compose_parses_and_runs_every_procfile_process_as_a_service():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    for name in procfile_names():
        assert name in services, f"compose.yaml lacks the {name} service"
        assert services[name].get("command"), name
    assert {"postgres", "redis", "minio"} <= set(services)
    assert "--appendonly" in services["redis"]["command"]


def test_readme_settings_table_matches_the_settings_module():
    readme = (ROOT / "README.md").read_text()
    assert settings_module.markdown_table() in readme, "regenerate with: python -m shared.settings"


def test_every_setting_has_a_description_and_only_the_settings_module_reads_the_environment():
    for option in settings_module.OPTIONS:
        assert option.description.strip(), option.name
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or path.parts[len(ROOT.parts)] in {"tests", "bench"}:
            continue
        if path.name == "settings.py" and path.parent.name == "shared":
            continue
        if re.search(r"os\.environ(?!\))|os\.getenv", path.read_text()):
            offenders.append(str(path.relative_to(ROOT)))
    # The embedded launcher passes the environment on to its children; it reads no setting from it.
    assert offenders in ([], ["shared/embedded.py"]), offenders


def test_settings_parse_types_and_refuse_bad_values():
    parsed = settings_module.Settings.from_env({"PORT": "9001", "WEBHOOK_ALLOW_PRIVATE_TARGETS": "yes",
                                                "DATA_DIR": "/srv/x"})
    assert parsed.PORT == 9001 and parsed.WEBHOOK_ALLOW_PRIVATE_TARGETS is True
    assert parsed.DATABASE_URL == "sqlite:////srv/x/showreel.db"
    assert parsed.PUBLIC_BASE_URL == "http://127.0.0.1:9001"
    assert settings_module.Settings.from_env({"S3_SECRET_KEY": "pa{ss}{PORT}"}).S3_SECRET_KEY == "pa{ss}{PORT}"
    with pytest.raises(settings_module.SettingsError):
        settings_module.Settings.from_env({"PORT": "eighty"})
    with pytest.raises(settings_module.SettingsError):
        settings_module.Settings.from_env({"STORAGE_PROVIDER": "ftp"})


def test_migrations_build_the_same_schema_on_sqlite_and_go_down_and_up_again(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import shared.models  # noqa: F401
    from shared.db import Base
    from shared.db.migrate import downgrade, include_object, upgrade

    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    downgrade(url, "base")
    upgrade(url)
    engine = build_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include_object,
                                                               "compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert "media_jobs" in sa_inspect(connection).get_table_names()
    engine.dispose()


def test_migrations_match_the_models_on_postgresql(database):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shared.db import Base
    from shared.db.migrate import include_object

    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": include_object,
                                                               "compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_review_duplicated_test_fixture_make_client_lives_in_the_api_conftest_only():
    from pathlib import Path

    api_tests = Path(__file__).parent / "api"
    defined = sorted(path.name for path in api_tests.glob("*.py") if "def make_client(" in path.read_text())
    assert defined == ["conftest.py"]
