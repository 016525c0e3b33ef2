"""Process-wide logging and error reporting set-up."""

from __future__ import annotations

import logging
import sys

from shared.settings import Settings


def configure_logging(settings: Settings, *, process: str) -> None:
    """Log to stderr with the process name; start Sentry when a DSN is set."""
    logging.basicConfig(level=settings.LOG_LEVEL.upper(), stream=sys.stderr,
                        format=f"%(asctime)s %(levelname)s [{process}] %(name)s: %(message)s")
    if settings.SENTRY_DSN:
        import sentry_sdk

        sentry_sdk.init(dsn=settings.SENTRY_DSN, environment=settings.APP_ENV, server_name=process,
                        send_default_pii=False)
