"""The production start-up check: every missing or unsafe setting, named at once, before a process starts.

Each process entry point (gunicorn's ``api.app:wsgi()``, ``python -m workers relay|dispatcher|worker``,
``python -m scheduler``) calls :func:`require_production_settings` first. With ``APP_ENV=production``
a process that would only fail later (a quote refused, a link no browser can open, a worker that
cannot see the web host's files) refuses to start instead, and says everything wrong in one message.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable

from shared.security import STAFF_TOKEN_MIN_LENGTH
from shared.settings import Settings, SettingsError, get_settings
from shared.storage import StorageError, get_default_storage

DEV_CHAIN_ID = 31337
EX_CONFIG = 78  # sysexits.h: configuration error
# A gunicorn worker exiting with 4 makes the master stop ("App failed to load"); any other status
# would only make it start the worker again, for ever.
GUNICORN_APP_LOAD_ERROR = 4
# SECRET_KEY signs download links: as long as a staff token, so it cannot be guessed either.
SECRET_KEY_MIN_LENGTH = 32
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


class ProductionSettingsError(SettingsError):
    """Raised when APP_ENV=production is asked of settings that cannot serve paying users."""

    def __init__(self, process: str, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{process} refuses to start with APP_ENV=production; "
                         f"{len(problems)} setting(s) to fix:\n{lines}")


def _database(settings: Settings) -> list[str]:
    if str(settings.DATABASE_URL).startswith("sqlite"):
        return ["DATABASE_URL: is SQLite; production needs PostgreSQL, which every host shares"]
    return []


def _redis(settings: Settings) -> list[str]:
    if not str(settings.REDIS_URL).strip():
        return ["REDIS_URL: is empty; production needs the shared Redis (streams and the broker)"]
    return []


def _storage(settings: Settings) -> list[str]:
    provider = settings.STORAGE_PROVIDER
    if provider == "memory":
        return ["STORAGE_PROVIDER: memory keeps objects inside one process; use s3 (or local with SINGLE_HOST)"]
    if provider == "local" and not settings.SINGLE_HOST:
        return [("STORAGE_PROVIDER: local is one machine's disk; use s3, or set SINGLE_HOST=true "
                "if every process runs on this host")]
    if provider != "s3":
        return []
    problems = [f"{name}: is empty; the s3 storage needs credentials"
                for name in ("S3_ACCESS_KEY", "S3_SECRET_KEY") if not getattr(settings, name)]
    if settings.S3_PUBLIC_URL:
        from shared.storage.providers.s3 import public_endpoint  # loads minio: only where s3 is configured

        try:
            public_endpoint(settings.S3_PUBLIC_URL)
        except ValueError as exc:
            problems.append(f"S3_PUBLIC_URL: {exc}")
    return problems


def _payments(settings: Settings) -> list[str]:
    problems = []
    if not str(settings.ETH_RPC_URL).strip():
        problems.append("ETH_RPC_URL: is empty; payments are verified on this JSON-RPC endpoint")
    receiver = str(settings.PAYMENT_RECEIVER).strip()
    if not receiver:
        problems.append("PAYMENT_RECEIVER: is empty; set the address payments go to (quotes fail without it)")
    elif not _ADDRESS.fullmatch(receiver):
        problems.append("PAYMENT_RECEIVER: is not an address (0x and 40 hex digits)")
    if settings.PAYMENT_CHAIN_ID == DEV_CHAIN_ID and not settings.PAYMENT_ALLOW_DEV_CHAIN:
        problems.append(f"PAYMENT_CHAIN_ID: is {DEV_CHAIN_ID}, the local dev chain; set the real chain id "
                        "(or PAYMENT_ALLOW_DEV_CHAIN=true for a private test chain)")
    return problems


def _secrets(settings: Settings) -> list[str]:
    problems = []
    if len(str(settings.SECRET_KEY)) < SECRET_KEY_MIN_LENGTH:
        state = "is empty" if not settings.SECRET_KEY else f"is shorter than {SECRET_KEY_MIN_LENGTH} characters"
        problems.append(f"SECRET_KEY: {state}; it signs download links (openssl rand -hex 32)")
    for name in ("OPS_TOKEN", "MODERATOR_TOKEN"):
        value = str(getattr(settings, name))
        if value and len(value) < STAFF_TOKEN_MIN_LENGTH:
            problems.append(f"{name}: is shorter than {STAFF_TOKEN_MIN_LENGTH} characters; "
                            "leave it empty (role off) or use openssl rand -hex 24")
    return problems


CHECKS: tuple[Callable[[Settings], list[str]], ...] = (_database, _redis, _storage, _payments, _secrets)


def production_problems(settings: Settings) -> list[str]:
    """Every missing or unsafe setting, one line each starting with its name; empty outside production."""
    if not settings.is_production:
        return []
    return [problem for check in CHECKS for problem in check(settings)]


def validate_production(settings: Settings, process: str) -> None:
    """Raise :class:`ProductionSettingsError` listing every problem of production settings."""
    problems = production_problems(settings)
    if problems:
        raise ProductionSettingsError(process, problems)


def require_production_settings(settings: Settings, process: str, *, exit_code: int = EX_CONFIG) -> None:
    """Exit with ``exit_code`` and the list on stderr when production settings are unfit."""
    try:
        validate_production(settings, process)
    except ProductionSettingsError as exc:
        print(exc, file=sys.stderr, flush=True)
        raise SystemExit(exit_code) from None


def ensure_bucket(settings: Settings) -> str:
    """Create the default storage's bucket when missing (S3), so readiness reports it from the start."""
    storage = get_default_storage(settings)
    storage.check()
    return repr(storage)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.production")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="exit non-zero, listing every unfit setting, unless production may start")
    check.add_argument("process", nargs="?", default="showreel")
    sub.add_parser("ensure-bucket", help="create the default storage's bucket when missing (compose's migrate job)")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "check":
        require_production_settings(settings, args.process)
        print(f"{args.process}: the settings pass the production check" if settings.is_production
              else f"{args.process}: APP_ENV is not production; nothing to check")
        return
    try:
        print(f"storage ready: {ensure_bucket(settings)}")
    except StorageError as exc:
        raise SystemExit(f"storage not ready: {exc}") from None


if __name__ == "__main__":
    main()
