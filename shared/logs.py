"""Process-wide logging and error reporting: structlog JSON lines, Sentry, the log context.

Every process calls :func:`configure_logging` once at start. Log lines are JSON
objects on stderr; stdlib loggers (``logging.getLogger(__name__)``) and
structlog loggers go through the same processors, so both carry the context
bound with :func:`log_context` (``request_id``, ``job_id``, ``event_id``, ...).

That context travels with the work: the API binds ``request_id``; the outbox
stores the carried keys with each event (``record_event``); the dispatcher binds
them while it handles the event; Dramatiq messages carry them in their options;
the worker binds them while the actor runs (``workers/observability.py``).

Nothing secret is ever written: keys that name secrets are masked, the values of
secret settings and secret-looking strings (bearer tokens, API keys, webhook
secrets, URL passwords, labelled private keys) are replaced in every line and in
every Sentry event.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import structlog

from shared.settings import OPTIONS, Settings

# Keys that follow the work from the HTTP request through the stream into the actor.
CARRIED_KEYS = ("request_id", "job_id", "submission_id", "upload_id", "run_id", "tenant_id")
REDACTED = "[redacted]"

_SENSITIVE_KEY = re.compile(
    r"pass(word|wd)?$|secret|token|authorization|api[_-]?key|private[_-]?key|dsn|signature|cookie|credential",
    re.IGNORECASE)
# Settings whose values are secrets (by name, so options added later are covered too).
_SECRET_SETTING = re.compile(r"SECRET|TOKEN|PASSWORD|PRIVATE|_DSN$|ACCESS_KEY|API_KEY")
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + REDACTED),
    (re.compile(r"whsec_[A-Za-z0-9+/=_-]+"), "whsec_" + REDACTED),
    (re.compile(r"\bsr_[A-Za-z0-9_-]{16,}"), "sr_" + REDACTED),
    (re.compile(r"\bops_[A-Za-z0-9_-]{20,}"), "ops_" + REDACTED),
    (re.compile(r"(?i)(private[_ -]?key\W{0,4})(0x)?[0-9a-f]{64}"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), r"\1" + REDACTED + "@"),
    (re.compile(r"(?i)([?&](?:sig|signature|token|x-amz-signature|x-amz-credential)=)[^&\s\"']+"),
     r"\1" + REDACTED),
)
_MIN_SECRET_LENGTH = 6
_HANDLER_MARK = "_showreel_handler"


class Redactor:
    """Masks secrets in log events and Sentry events."""

    def __init__(self, secret_values: list[str]):
        values = sorted({v for v in secret_values if v and len(v) >= _MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._values = re.compile("|".join(re.escape(v) for v in values)) if values else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        secrets: list[str] = []
        for option in OPTIONS:
            value = getattr(settings, option.name, None)
            if not isinstance(value, str) or not value:
                continue
            if _SECRET_SETTING.search(option.name):
                secrets.append(value)
            if "://" in value:
                try:
                    password = urlsplit(value).password
                except ValueError:
                    password = None
                if password:
                    secrets.append(password)
        return cls(secrets)

    def text(self, value: str) -> str:
        if self._values is not None:
            value = self._values.sub(REDACTED, value)
        for pattern, replacement in _SECRET_PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def scrub(self, value: Any, key: str | None = None) -> Any:
        """Return ``value`` with secrets masked (recursing into dicts, lists and tuples)."""
        if key is not None and _SENSITIVE_KEY.search(key) and value not in (None, "", [], {}):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.scrub(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.scrub(v) for v in value]
        return value

    def __call__(self, _logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        """structlog processor."""
        return {k: (self.scrub(v, k) if k != "event" else self.scrub(v)) for k, v in event_dict.items()}


def _add_process(process: str):
    def processor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("process", process)
        # stdlib records carry their formatted text twice (``message`` beside ``event``).
        if event_dict.get("message") == event_dict.get("event"):
            event_dict.pop("message", None)
        return event_dict

    return processor


def build_formatter(settings: Settings, *, process: str,
                    redactor: Redactor | None = None) -> structlog.stdlib.ProcessorFormatter:
    """The formatter every handler of a process uses (tests attach it to capture lines)."""
    redactor = redactor or Redactor.from_settings(settings)
    renderer: Any
    if settings.LOG_FORMAT == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.JSONRenderer(serializer=lambda obj, **kw: json.dumps(obj, default=str))
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_pre_chain(process),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
    )


def _pre_chain(process: str) -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        _add_process(process),
    ]


def configure_logging(settings: Settings, *, process: str) -> None:
    """Log JSON lines to stderr with the process name and context; start Sentry when a DSN is set."""
    redactor = Redactor.from_settings(settings)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(build_formatter(settings, process=process, redactor=redactor))
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for existing in list(root.handlers):
        # basicConfig-style handlers would print every line twice, unformatted.
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.LOG_LEVEL.upper())
    structlog.configure(
        processors=[*_pre_chain(process), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    configure_sentry(settings, process=process, redactor=redactor)


def configure_sentry(settings: Settings, *, process: str, redactor: Redactor | None = None) -> bool:
    """Start Sentry with the Flask, Dramatiq and SQLAlchemy integrations; False when no DSN is set.

    Call it before the Dramatiq broker is built: the Dramatiq integration hooks
    into brokers created after it.
    """
    if not settings.SENTRY_DSN:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.dramatiq import DramatiqIntegration
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration

    redactor = redactor or Redactor.from_settings(settings)
    sentry_sdk.init(
        dsn=settings.SENTRY_DSN,
        environment=settings.APP_ENV,
        send_default_pii=False,
        max_request_body_size="never",
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        integrations=[FlaskIntegration(), DramatiqIntegration(), SqlalchemyIntegration()],
        before_send=lambda event, _hint: redactor.scrub(event),
        before_breadcrumb=lambda crumb, _hint: redactor.scrub(crumb),
    )
    sentry_sdk.set_tag("process", process)
    return True


def carried_context(*, include_event: bool = False) -> dict[str, str]:
    """The part of the log context that travels with events and messages."""
    keys = CARRIED_KEYS + (("event_id",) if include_event else ())
    bound = structlog.contextvars.get_contextvars()
    return {key: str(bound[key]) for key in keys if bound.get(key) is not None}


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Bind ``values`` (None values are left out) for the duration of the block."""
    present = {key: value for key, value in values.items() if value is not None}
    with structlog.contextvars.bound_contextvars(**present):
        yield


def bind_context(**values: Any) -> dict[str, Any]:
    """Bind ``values`` until :func:`reset_context` is called with the returned tokens."""
    present = {key: value for key, value in values.items() if value is not None}
    return structlog.contextvars.bind_contextvars(**present)


def reset_context(tokens: dict[str, Any]) -> None:
    structlog.contextvars.reset_contextvars(**tokens)
