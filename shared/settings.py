"""The one home of every setting: name, type, default and a one-line description.

Nothing else in the code base reads ``os.environ``. Values come from the
environment under the option's name; ``{DATA_DIR}``-style references in defaults
are expanded from other options so that the embedded default keeps everything in
one data folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


@dataclass(frozen=True)
class Option:
    name: str
    type: Callable[[str], Any]
    default: Any
    description: str


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError(f"{raw!r} is not one of {', '.join(allowed)}")
        return value

    parse.__name__ = " / ".join(allowed)
    return parse


OPTIONS: tuple[Option, ...] = (
    # Deployment
    Option("APP_ENV", _choice("embedded", "production"), "embedded",
           "embedded: one-machine default (anonymous default tenant, dev endpoints); production: keys required"),
    Option("DATA_DIR", str, "./data", "Folder of the embedded default: SQLite file, local storage, embedded Redis"),
    Option("DATABASE_URL", str, "sqlite:///{DATA_DIR}/showreel.db", "SQLAlchemy URL of the database"),
    Option("REDIS_URL", str, "", "Redis for streams and the Dramatiq broker; empty: `make run` starts an embedded one"),
    Option("HOST", str, "127.0.0.1", "Address the web process binds"),
    Option("PORT", int, 8000, "Port the web process listens on"),
    Option("WEB_KEEPALIVE_SECONDS", int, 75,
           "Seconds the web process keeps an idle keep-alive connection open (gunicorn --keep-alive, read by the "
           "Procfile); longer than the idle timeout of the clients or load balancer in front, so it never closes "
           "a connection the other side is reusing at that moment (gunicorn's 2 s dropped requests under load)"),
    Option("PUBLIC_BASE_URL", str, "http://127.0.0.1:{PORT}", "Base URL clients reach the API at (used in links)"),
    Option("SECRET_KEY", str, "", "Key signing local download URLs; empty in embedded mode: generated under DATA_DIR"),
    Option("TEMP_DIR", str, "{DATA_DIR}/tmp",
           "This host's scratch (uploads streaming in, work folders); never shared: uploads wait in storage"),
    Option("HOST_NAME", str, "",
           "Name of this host in ops runs (its scratch sweeps); empty: the machine's host name"),
    Option("SINGLE_HOST", _bool, False,
           "Production on one machine: allows STORAGE_PROVIDER=local (the start-up check refuses it otherwise)"),
    Option("HEARTBEAT_DIR", str, "{TEMP_DIR}/run",
           "Folder where relay, dispatcher, workers and scheduler write their heartbeat (read by `workers health`)"),
    Option("HEARTBEAT_INTERVAL_SECONDS", float, 5.0, "How often a process writes its heartbeat"),
    Option("HEARTBEAT_MAX_AGE_SECONDS", float, 60.0,
           "`python -m workers health` fails when the process's newest heartbeat is older than this"),
    Option("LOG_LEVEL", str, "INFO", "Log level of every process"),
    Option("SENTRY_DSN", str, "", "Sentry DSN; empty disables error reporting"),
    # Roles and secrets used by later features
    Option("OPS_TOKEN", str, "", "Bootstrap bearer token of the ops role"),
    Option("MODERATOR_TOKEN", str, "", "Bootstrap bearer token of the moderator role"),
    Option("WEBHOOK_SECRET", str, "", "Webhook signing secret of the default tenant (whsec_...)"),
    Option("WEBHOOK_ALLOW_PRIVATE_TARGETS", _bool, False,
           "Allow callback URLs on loopback/private networks (local testing only)"),
    Option("ETH_RPC_URL", str, "", "JSON-RPC endpoint of the chain payments are verified on"),
    # Storage
    Option("STORAGE_PROVIDER", _choice("local", "s3", "memory"), "local", "Platform default storage provider"),
    Option("STORAGE_PREFIX", str, "", "Path prefix of every key in the platform default storage"),
    Option("LOCAL_STORAGE_DIR", str, "{DATA_DIR}/storage", "Root folder of the local storage provider"),
    Option("S3_ENDPOINT", str, "127.0.0.1:9000", "host:port of the S3 API (MinIO or any S3)"),
    Option("S3_ACCESS_KEY", str, "", "S3 access key"),
    Option("S3_SECRET_KEY", str, "", "S3 secret key"),
    Option("S3_BUCKET", str, "showreel", "S3 bucket (created on first use when missing)"),
    Option("S3_REGION", str, "us-east-1", "S3 region"),
    Option("S3_SECURE", _bool, False, "Use HTTPS to reach the S3 API"),
    Option("S3_PUBLIC_URL", str, "",
           "Base URL browsers reach S3 at (https://media.example.com); links are signed for it; empty: S3_ENDPOINT"),
    Option("PRESIGNED_URL_TTL", int, 3600, "Seconds a presigned download URL stays valid"),
    # Media limits (checked before any decode)
    Option("MAX_REQUEST_BYTES", int, 1024 * 1024,
           "Largest request body outside the upload endpoints (JSON and forms)"),
    Option("MAX_IMAGE_BYTES", int, 50 * 1024 * 1024, "Largest image upload in bytes"),
    Option("MAX_VIDEO_BYTES", int, 1024 * 1024 * 1024, "Largest video upload in bytes"),
    Option("MAX_IMAGE_PIXELS", int, 100_000_000, "Largest image area in pixels (decompression bomb guard)"),
    Option("MAX_IMAGE_SIDE", int, 20_000, "Largest image width or height in pixels"),
    Option("MAX_VIDEO_SIDE", int, 4096, "Largest video width or height in pixels"),
    Option("MAX_VIDEO_DURATION", float, 600.0, "Longest video in seconds"),
    Option("MAX_VIDEO_FRAMES", int, 36_000, "Most frames a video may have"),
    Option("PROBE_TIMEOUT", float, 60.0,
           "Seconds the probe of an uploaded video (run in a child process) may take; then it is refused"),
    Option("PROBE_SPARE", _bool, True,
           "Keep one probe child started ahead, PyAV loaded, in each process that probes uploads: a video "
           "upload's 201 skips its ~0.1 s start-up; costs one idle process (~35 MB RSS, ~14 MB of it "
           "private) per such process"),
    # Media processing
    Option("FFMPEG_PATH", str, "", "ffmpeg binary; empty: the imageio-ffmpeg one, else ffmpeg 7.0+ on PATH"),
    Option("FFMPEG_TIMEOUT", float, 900.0, "Seconds one ffmpeg run may take before it is killed"),
    Option("FFMPEG_THREADS", int, 2, "Threads one ffmpeg run may use"),
    Option("VIDEO_QUALITY_MODE", _choice("realtime", "good"), "realtime",
           "VP9 deadline: realtime (fast, default) or good (smaller files, ~5x slower)"),
    Option("VIDEO_BITRATE", str, "2M", "Target VP9 bitrate of the converted video"),
    Option("VIDEO_MAX_HEIGHT", int, 1080, "Converted video is scaled down to at most this height"),
    Option("AUDIO_BITRATE", str, "96k", "Opus bitrate of converted video and preview"),
    Option("PREVIEW_SECONDS", float, 5.0, "Length of the preview clip in seconds"),
    Option("PREVIEW_HEIGHT", int, 480, "Height of the preview clip"),
    Option("PREVIEW_BITRATE", str, "800k", "Target bitrate of the preview clip"),
    Option("POSTER_SECOND", float, 1.0, "Where the poster frame is taken (clamped into the video)"),
    Option("JPEG_QUALITY", int, 85, "JPEG quality of image outputs"),
    Option("WEBP_QUALITY", int, 80, "WebP quality of image outputs"),
    Option("WEBP_METHOD", int, 0, "WebP encoder effort 0-6 (0 is ~4x faster than 4 for ~2% more bytes)"),
    # Jobs, retries, broker
    Option("JOB_MAX_ATTEMPTS", int, 3, "Runs a job may have (the first plus API retries)"),
    Option("STEP_MAX_DELIVERIES", int, 5, "Deliveries of one pipeline step before the job fails (counts killed runs)"),
    Option("STEP_MAX_RETRIES", int, 4, "Retries of a step after a transient error"),
    Option("PIPELINE_SWEEP_AFTER_SECONDS", int, 900,
           "A media job or paid submission whose pipeline is waiting or running, or a tus upload completing, "
           "untouched this long with no message left in the broker (Redis lost it), has its pipeline (or finish) "
           "sent again (the sweep-pipelines ops task)"),
    Option("RETRY_MIN_BACKOFF_MS", int, 1000, "Smallest retry backoff in milliseconds"),
    Option("RETRY_MAX_BACKOFF_MS", int, 300_000, "Largest retry backoff in milliseconds"),
    Option("BROKER_HEARTBEAT_TIMEOUT_MS", int, 10_000,
           "A worker silent this long is dead and its messages are requeued"),
    Option("BROKER_MAINTENANCE_CHANCE", int, 200_000,
           "Chance per million broker calls to run requeue maintenance (Dramatiq's default is 1000)"),
    Option("BROKER_PREFETCH", int, 1, "Messages a worker thread prefetches (1 keeps heavy work spread out)"),
    Option("BROKER_IDLE_POLL_MS", int, 2000,
           "Longest an idle worker waits on its queue's wake-up list before polling anyway (at most a "
           "quarter of BROKER_HEARTBEAT_TIMEOUT_MS)"),
    Option("WORKER_THREADS_VIDEO", int, 1, "Threads of a video worker process (ffmpeg uses the cores)"),
    Option("WORKER_THREADS_MEDIA", int, 4, "Threads of a media worker process"),
    Option("WORKER_THREADS_LIGHT", int, 8, "Threads of a light worker process"),
    # Events
    Option("RELAY_POLL_INTERVAL", float, 1.0,
           "Seconds between the outbox relay's fallback sweeps (a commit wakes it at once)"),
    Option("RELAY_BATCH_SIZE", int, 200, "Outbox rows the relay publishes per round"),
    Option("STREAM_MAXLEN", int, 1_000_000, "Approximate length each event stream is trimmed to"),
    Option("WATCH_STREAM_TTL", int, 86_400,
           "Seconds the short event stream of one submission (live status) is kept after its last event"),
    Option("DISPATCHER_BLOCK_MS", int, 1000, "How long the dispatcher blocks waiting for events"),
    Option("DISPATCHER_CLAIM_IDLE_MS", int, 30_000, "Pending events idle this long are reclaimed from dead consumers"),
    Option("DISPATCHER_MAX_DELIVERIES", int, 5, "Deliveries of one event before it is dead-lettered"),
    Option("DISPATCHER_RETRY_BASE_MS", int, 1000,
           "First wait before a failed event is handled again (doubles per failure, up to 64x)"),
    Option("DISPATCHER_DEDUP_TTL", int, 7 * 24 * 3600, "Seconds a handled event id is remembered"),
    # Operations: logs, metrics, scheduler, clean-up
    Option("LOG_FORMAT", _choice("json", "console"), "json",
           "json: one JSON object per line (production); console: readable lines for a terminal"),
    Option("SENTRY_TRACES_SAMPLE_RATE", float, 0.0, "Share of requests and tasks traced in Sentry (0 = errors only)"),
    Option("PROMETHEUS_MULTIPROC_DIR", str, "{DATA_DIR}/metrics",
           "Folder where every process of a host writes its metrics; emptied before the processes start"),
    Option("METRICS_REQUIRE_TOKEN", _bool, None,
           "Require the ops token on /metrics; unset: on when APP_ENV=production, off otherwise"),
    Option("METRICS_PORT", int, 0,
           "Port where relay, dispatcher, workers and scheduler serve their own /metrics; 0: not served"),
    Option("METRICS_HOST", str, "127.0.0.1", "Address the METRICS_PORT server binds (0.0.0.0 in a container)"),
    Option("SCHEDULER_TIMEZONE", str, "UTC", "Time zone of schedule cron expressions (IANA name)"),
    Option("SCHEDULER_TICK_SECONDS", float, 5.0,
           "How often the scheduler renews its leader lock and picks up schedule changes"),
    Option("SCHEDULER_LOCK_TTL_SECONDS", float, 30.0,
           "Expiry of the scheduler leader lock in Redis (a standby takes over after it)"),
    Option("SCHEDULER_MISFIRE_GRACE_SECONDS", int, 3600,
           "A run missed while no scheduler led still happens if this late at most"),
    Option("TEMP_RETENTION_HOURS", float, 48.0,
           "The temp purge removes files under TEMP_DIR and unclaimed objects under tmp/ in storage older than this"),
    Option("SCRATCH_SWEEP_INTERVAL_SECONDS", float, 86400.0,
           "Each host's web and worker processes purge that host's TEMP_DIR this often (one run per host); 0: off"),
    Option("INCOMING_ABANDON_MINUTES", int, 60,
           "An upload file in TEMP_DIR/incoming not written to for this long is abandoned"),
    Option("ORPHAN_MIN_AGE_HOURS", float, 24.0,
           "Storage objects younger than this are never treated as orphans (writes in flight)"),
    Option("OUTBOX_RETENTION_DAYS", float, 7.0, "Published outbox events older than this are deleted"),
    # Business clients: tenants, webhooks, rate limits
    Option("TENANT_CACHE_SECONDS", float, 10.0,
           "Seconds a process keeps a tenant's storage connection and limits before re-reading them"),
    Option("RATE_LIMIT_PER_TENANT", int, 600, "Media-API requests per minute of one tenant (tenants may override)"),
    Option("RATE_LIMIT_PER_IP", int, 1200, "API requests per minute from one client IP address (every blueprint)"),
    Option("RATE_LIMIT_SIGNIN_PER_IP", int, 30, "Sign-in requests (nonce and login) per minute from one client IP"),
    Option("RATE_LIMIT_HASHTAG_CHECKS_PER_IP", int, 120,
           "Hashtag checks (and form validations) per minute from one client IP"),
    Option("RATE_LIMIT_APPEALS_PER_IP", int, 10, "Hashtag appeals per hour from one client IP"),
    Option("RATE_LIMIT_STAFF_AUTH_FAILURES", int, 20,
           "Wrong ops/moderator tokens per hour from one client IP; past it the staff APIs answer 429"),
    Option("TRUSTED_PROXY_HOPS", int, 0,
           "Proxies in front of the web process whose X-Forwarded-For/-Proto are trusted (0: headers ignored)"),
    Option("TENANT_VIDEO_CONCURRENCY", int, 2,
           "Video steps of one tenant running at once across all workers (tenants may override)"),
    Option("WEBHOOK_TIMEOUT", float, 15.0, "Seconds one webhook attempt may take, connect to last byte"),
    # Wallet profiles: temporary uploads, quotas, listing (docs/PROFILES.md)
    Option("UPLOAD_TTL_HOURS", float, 48.0, "Hours a temporary upload waits for a submission to take it"),
    Option("TUS_IDLE_HOLD_MINUTES", float, 30.0,
           "Minutes a resumable upload keeps the bytes it has yet to send held against the quotas and the "
           "temp area without a PATCH; its next PATCH holds them again (the quotas are checked again)"),
    Option("UPLOAD_DAILY_COUNT", int, 20,
           "Uploads one wallet (not signed in: one IP address) may make in 24 hours"),
    Option("UPLOAD_DAILY_BYTES", int, 5 * 1024**3,
           "Bytes one wallet (not signed in: one IP address) may upload in 24 hours"),
    Option("UPLOAD_IP_DAILY_COUNT", int, 100,
           "Uploads from one IP address in 24 hours, signed in or not (wallets cost nothing to make)"),
    Option("UPLOAD_IP_DAILY_BYTES", int, None,
           "Bytes uploaded from one IP address (IPv6: one /64) in 24 hours, signed in or not; "
           "unset: 25% of UPLOAD_TEMP_HIGH_WATER_BYTES, which is also its largest allowed value"),
    Option("UPLOAD_TEMP_HIGH_WATER_BYTES", int, 20 * 1024**3,
           "Bytes of temporary uploads kept at once (storage tmp/uploads/); past it new uploads get 507"),
    Option("UPLOAD_RESERVATION_SECONDS", int, 3600,
           "Seconds an upload still streaming counts against the quotas at most (a dead process's hold ends then)"),
    Option("PROFILES_PAGE_SIZE", int, 20, "Profiles per page of GET /api/profiles/"),
    # Wallet profiles: Sign-In with Ethereum, payments, live status (docs/PAYMENTS.md)
    Option("SIWE_NONCE_TTL", int, 600, "Seconds a Sign-In with Ethereum nonce (and its message) stays valid"),
    Option("WALLET_SESSION_TTL", int, 86_400, "Seconds a wallet session token (and its cookie) stays valid"),
    Option("PAYMENT_CHAIN_ID", int, 31337, "Chain id payments are made on (31337: the local dev chain)"),
    Option("PAYMENT_ALLOW_DEV_CHAIN", _bool, False,
           "Let APP_ENV=production take payments on chain id 31337 (a private test chain; never real money)"),
    Option("PAYMENT_RECEIVER", str, "",
           "Address payments go to; empty: a dev-chain account in embedded mode (production refuses to quote)"),
    Option("PAYMENT_PRICE_WEI", int, 10**16, "Price of one submission in wei when paid in ETH"),
    Option("PAYMENT_TOKENS", str, "",
           "Allow-listed ERC-20 payments: comma-separated 'contract:price' (price in the token's smallest unit)"),
    Option("PAYMENT_CONFIRMATIONS", int, None,
           "Blocks a payment needs (its own included) where finality comes from confirmations (docs/PAYMENTS.md); "
           "default: 2 on the dev chain 31337, 12 elsewhere"),
    Option("PAYMENT_FINALITY", _choice("auto", "finalized", "confirmations"), "auto",
           "When a payment's block is final: auto: the node's finalized block, except on the dev chain 31337 "
           "(confirmations); finalized: that on every chain; confirmations: PAYMENT_CONFIRMATIONS only"),
    Option("PAYMENT_QUOTE_TTL", int, 1800, "Seconds a submission's price quote stays valid"),
    Option("PAYMENT_RECHECK_SECONDS", float, 2.0, "First delay between two checks of a pending payment (light queue)"),
    Option("PAYMENT_RECHECK_MAX_SECONDS", float, 30.0,
           "The delay between checks doubles while a pending payment shows no progress, up to this"),
    Option("PAYMENT_NOT_FOUND_TIMEOUT", int, 600,
           "A posted transaction the node has still never seen this many seconds later is refused (payment_not_found)"),
    Option("PAYMENT_MAX_PENDING_PER_WALLET", int, 3,
           "Pending (unconfirmed) payments one wallet may have at once; more answer 429"),
    Option("SUBMISSION_MAX_RUNS", int, 3,
           "Runs of the paid pipeline one submission may have (the first, reorg re-checks and owner retries)"),
    Option("SUBMISSION_RETRY_HOURS", int, 48,
           "Hours a failed paid submission keeps its uploads so its owner can retry it; then they are freed"),
    Option("PAYMENT_SWEEP_AFTER_SECONDS", int, 120,
           "A pending payment unchecked this long gets a new check (the sweep-payments ops task)"),
    Option("PAYMENT_PENDING_TIMEOUT", int, 3600, "A payment still unconfirmed this many seconds after it was posted is refused"),
    Option("ETH_RPC_TIMEOUT", float, 10.0, "Seconds one JSON-RPC call to ETH_RPC_URL may take"),
    Option("DEV_CHAIN_PORT", int, 8545,
           "Port of the local dev chain `make run` starts when ETH_RPC_URL is empty (a free one if taken)"),
    Option("DEV_CHAIN_BLOCK_SECONDS", float, 1.0, "The dev chain mines a block this often, so confirmations arrive"),
    Option("SSE_MAX_SECONDS", int, 60,
           "Seconds one live-status stream stays open; the browser reconnects with Last-Event-ID"),
    Option("SSE_MAX_STREAMS", int, 2, "Live-status streams one web process serves at once (each holds a thread)"),
    Option("SSE_MAX_STREAMS_PER_WALLET", int, 2, "Live-status streams one wallet may have open at once, over all processes"),
)

_BY_NAME = {option.name: option for option in OPTIONS}

# Options whose default (None) follows from others, worked out when read so replace() keeps them in step.
_DERIVED: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "METRICS_REQUIRE_TOKEN": lambda values: values["APP_ENV"] == "production",
    "UPLOAD_IP_DAILY_BYTES": lambda values: upload_ip_bytes_ceiling(values["UPLOAD_TEMP_HIGH_WATER_BYTES"]),
    "PAYMENT_CONFIRMATIONS": lambda values: 2 if values["PAYMENT_CHAIN_ID"] == 31337 else 12,
}


def upload_ip_bytes_ceiling(high_water: int) -> int:
    """The most one address may upload in a day: a quarter of the temp area, so no one client fills it."""
    return high_water // 4


class SettingsError(ValueError):
    """Raised when an environment value does not parse."""


class Settings:
    """Typed, read-only view of the options; build with :meth:`from_env`."""

    def __init__(self, values: Mapping[str, Any]):
        object.__setattr__(self, "_values", dict(values))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every option from ``environ`` (default: the process environment)."""
        env = os.environ if environ is None else environ
        raw: dict[str, Any] = {}
        for option in OPTIONS:
            if option.name in overrides:
                raw[option.name] = overrides[option.name]
            elif option.name in env:
                try:
                    raw[option.name] = option.type(env[option.name])
                except ValueError as exc:
                    raise SettingsError(f"{option.name}: {exc}") from None
            else:
                raw[option.name] = option.default
        unknown = set(overrides) - set(_BY_NAME)
        if unknown:
            raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
        defaults = {o.name for o in OPTIONS if o.name not in overrides and o.name not in env}
        settings = cls(_expand(raw, defaults))
        _check_ceilings(settings)
        return settings

    def replace(self, **overrides: Any) -> Settings:
        """Return a copy with some values changed (references are not re-expanded)."""
        values = dict(self._values)
        for name, value in overrides.items():
            if name not in _BY_NAME:
                raise SettingsError(f"unknown setting: {name}")
            values[name] = value
        return Settings(values)

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._values[name]
        except KeyError:
            raise AttributeError(name) from None
        if value is None and name in _DERIVED:
            return _DERIVED[name](self._values)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("settings are read-only; use replace()")

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._values}

    @property
    def is_production(self) -> bool:
        return self.APP_ENV == "production"


def _check_ceilings(settings: Settings) -> None:
    ceiling = upload_ip_bytes_ceiling(settings.UPLOAD_TEMP_HIGH_WATER_BYTES)
    if settings.UPLOAD_IP_DAILY_BYTES > ceiling:
        raise SettingsError(f"UPLOAD_IP_DAILY_BYTES may be at most 25% of UPLOAD_TEMP_HIGH_WATER_BYTES ({ceiling})")


def _expand(values: dict[str, Any], defaults: set[str]) -> dict[str, Any]:
    """Expand ``{NAME}`` references in default values, in declaration order.

    Values given in the environment stay literal: a password may contain braces.
    """
    expanded: dict[str, Any] = {}
    for option in OPTIONS:
        value = values[option.name]
        if option.name in defaults and isinstance(value, str) and "{" in value:
            value = value.format_map(_Known(expanded))
        expanded[option.name] = value
    return expanded


class _Known(dict):
    def __missing__(self, key: str) -> str:
        raise SettingsError(f"setting refers to unknown or later option {key!r}")


def export_to_libraries(settings: Settings) -> None:
    """Hand settings to libraries that only read them from the environment.

    prometheus-client's multiprocess mode finds its folder in
    ``PROMETHEUS_MULTIPROC_DIR`` and nowhere else.
    """
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = settings.PROMETHEUS_MULTIPROC_DIR


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings read from the environment."""
    return Settings.from_env()


def describe() -> list[tuple[str, str, str, str]]:
    """Rows of (name, type, default, description) for the docs table."""
    return [
        (o.name, getattr(o.type, "__name__", str(o.type)).replace("_bool", "bool"), repr(o.default), o.description)
        for o in OPTIONS
    ]


def markdown_table() -> str:
    """The settings table the README shows (a test keeps the two in step)."""
    lines = ["| Variable | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for name, type_name, default, description in describe():
        lines.append(f"| `{name}` | {type_name} | `{default}` | {description} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
