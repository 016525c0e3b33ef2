"""A production environment that passes the start-up check (shared/production.py), for tests that start
production processes: one host (local storage), the anvil dev chain allowed, keys long enough."""

from __future__ import annotations

RECEIVER = "0x" + "5a" * 20


def production_env(**overrides: str) -> dict[str, str]:
    """Settings to lay over the test environment (its PostgreSQL and Redis) for APP_ENV=production."""
    env = {
        "APP_ENV": "production",
        "SINGLE_HOST": "true",
        "ETH_RPC_URL": "http://127.0.0.1:8545",
        "PAYMENT_RECEIVER": RECEIVER,
        "PAYMENT_ALLOW_DEV_CHAIN": "true",
        "SECRET_KEY": "test-production-secret-key-0123456789abcdef",
        "OPS_TOKEN": "",
        "MODERATOR_TOKEN": "",
    }
    env.update(overrides)
    return env
