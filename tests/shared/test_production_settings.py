"""APP_ENV=production refuses to start with settings that cannot serve paying users, naming each one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.production import ProductionSettingsError, production_problems, validate_production
from shared.settings import Settings
from tests.support.chain import free_port
from tests.support.production import production_env

ROOT = Path(__file__).resolve().parents[2]

VALID = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgresql://showreel:pw@postgres:5432/showreel",
    "REDIS_URL": "redis://redis:6379/0",
    "STORAGE_PROVIDER": "s3",
    "S3_ENDPOINT": "minio:9000",
    "S3_ACCESS_KEY": "showreel",
    "S3_SECRET_KEY": "s3-secret",
    "S3_PUBLIC_URL": "https://media.example.com",
    "ETH_RPC_URL": "https://rpc.example.com",
    "PAYMENT_RECEIVER": "0x" + "5a" * 20,
    "PAYMENT_CHAIN_ID": "8453",
    "SECRET_KEY": "k" * 40,
    "OPS_TOKEN": "o" * 40,
    "MODERATOR_TOKEN": "",
}


def problems_of(**changes: str | None) -> list[str]:
    environ = {**VALID, **changes}
    return production_problems(Settings.from_env({k: v for k, v in environ.items() if v is not None}))


def test_production_settings_that_are_complete_pass_the_check():
    assert problems_of() == []


# (setting named in the refusal, the change that makes the settings unfit); None: the setting unset.
UNFIT = [
    ("DATABASE_URL", {"DATABASE_URL": None}),
    ("DATABASE_URL", {"DATABASE_URL": "sqlite:////srv/showreel.db"}),
    ("REDIS_URL", {"REDIS_URL": ""}),
    ("STORAGE_PROVIDER", {"STORAGE_PROVIDER": "local"}),
    ("STORAGE_PROVIDER", {"STORAGE_PROVIDER": "memory", "SINGLE_HOST": "true"}),
    ("ETH_RPC_URL", {"ETH_RPC_URL": ""}),
    ("PAYMENT_RECEIVER", {"PAYMENT_RECEIVER": ""}),
    ("PAYMENT_RECEIVER", {"PAYMENT_RECEIVER": "alice"}),
    ("PAYMENT_CHAIN_ID", {"PAYMENT_CHAIN_ID": None}),
    ("SECRET_KEY", {"SECRET_KEY": ""}),
    ("SECRET_KEY", {"SECRET_KEY": "short"}),
    ("S3_ACCESS_KEY", {"S3_ACCESS_KEY": ""}),
    ("S3_SECRET_KEY", {"S3_SECRET_KEY": ""}),
    ("S3_PUBLIC_URL", {"S3_PUBLIC_URL": "media.example.com"}),
    ("S3_PUBLIC_URL", {"S3_PUBLIC_URL": "https://example.com/s3"}),
    ("OPS_TOKEN", {"OPS_TOKEN": "o" * 31}),
    ("MODERATOR_TOKEN", {"MODERATOR_TOKEN": "m" * 12}),
]


@pytest.mark.parametrize(("name", "changes"), UNFIT, ids=[f"{n}-{i}" for i, (n, _) in enumerate(UNFIT)])
def test_production_refuses_each_missing_or_unsafe_setting_by_name(name, changes):
    problems = problems_of(**changes)

    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{name}: ")


def test_production_allows_local_storage_and_the_dev_chain_only_when_told_so():
    assert problems_of(STORAGE_PROVIDER="local", SINGLE_HOST="true") == []
    assert problems_of(PAYMENT_CHAIN_ID="31337", PAYMENT_ALLOW_DEV_CHAIN="true") == []
    assert problems_of(S3_PUBLIC_URL="") == []  # a real S3 endpoint is public itself


def test_production_names_every_problem_in_one_message_and_embedded_mode_is_not_checked():
    bare = Settings.from_env({"APP_ENV": "production"})

    with pytest.raises(ProductionSettingsError) as refused:
        validate_production(bare, "relay")

    message = str(refused.value)
    for name in ("DATABASE_URL", "REDIS_URL", "STORAGE_PROVIDER", "ETH_RPC_URL", "PAYMENT_RECEIVER",
                 "PAYMENT_CHAIN_ID", "SECRET_KEY"):
        assert f"  - {name}: " in message
    assert message.startswith("relay refuses to start with APP_ENV=production")
    assert production_problems(Settings.from_env({})) == []


ENTRY_POINTS = {
    "web": lambda: [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{free_port()}", "--workers", "1",
                    "api.app:wsgi()"],
    "relay": lambda: [sys.executable, "-m", "workers", "relay"],
    "dispatcher": lambda: [sys.executable, "-m", "workers", "dispatcher"],
    "worker-light": lambda: [sys.executable, "-m", "workers", "worker", "light"],
    "scheduler": lambda: [sys.executable, "-m", "scheduler"],
}


@pytest.mark.parametrize("process", list(ENTRY_POINTS))
def test_production_process_without_payment_receiver_exits_non_zero_naming_it(process):
    env = {**os.environ, **production_env(PAYMENT_RECEIVER="")}

    done = subprocess.run(ENTRY_POINTS[process](), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=90, check=False)

    assert done.returncode != 0
    assert "PAYMENT_RECEIVER: is empty" in done.stderr, done.stderr[-2000:]
    assert f"{process} refuses to start with APP_ENV=production" in done.stderr
