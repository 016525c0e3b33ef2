"""Prometheus metrics, shared by every process of a host (prometheus-client multiprocess mode).

Every process writes its samples to files in ``PROMETHEUS_MULTIPROC_DIR``; the
web process's ``/metrics`` reads them all (``collect``). The folder must be
emptied before the processes of a host start (``python -m shared.metrics reset``;
``make run`` does it; compose gives each container its own empty tmpfs), or counters
of dead processes from an earlier run stay.

One folder belongs to one host (container). Its files are named after the host and the
process id (``counter_<host>-<pid>.db``), so two containers that both run as PID 1 never
write one file even when a folder is shared by mistake. A host without a web process
serves its folder itself: relay, dispatcher, workers and scheduler start a /metrics server
on ``METRICS_PORT`` when it is set (docs/OPERATIONS.md, "Metrics"); like the web's, it asks for
``Authorization: Bearer <OPS_TOKEN>`` when ``METRICS_REQUIRE_TOKEN`` is on.

Counters and histograms are recorded where the work happens (workers, API).
Gauges that describe shared state (queue depths, outbox backlog, stream pending
counts, schedules) are read at scrape time by :mod:`shared.ops.metrics`, so they
are right however many processes run.

The first six names are the ones earlier versions of the platform exported; they
are kept so dashboards and alerts keep working.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app, values
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.multiprocess import MultiProcessCollector

from shared.security import bootstrap_token, same_token
from shared.settings import Settings, export_to_libraries, get_settings

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]

# Media work takes from milliseconds (a thumbnail) to many minutes (a long transcode).
WORK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

GENERATION_TOTAL = Counter(
    "thumbnail_generation_total", "Media outputs generated (convert/preview steps)", ["media_type", "status"])
GENERATION_DURATION = Histogram(
    "thumbnail_generation_duration_seconds", "Time to generate the outputs of one step",
    ["media_type", "status"], buckets=WORK_BUCKETS)
UPLOAD_TOTAL = Counter(
    "thumbnail_upload_total", "Files written to storage", ["provider", "status"])
UPLOAD_DURATION = Histogram(
    "thumbnail_upload_duration_seconds", "Time to write one file to storage", ["provider", "status"],
    buckets=WORK_BUCKETS)
TASK_TOTAL = Counter(
    "thumbnail_task_execution_total", "Dramatiq actor executions", ["actor", "status"])
TASK_DURATION = Histogram(
    "thumbnail_task_execution_duration_seconds", "Time one actor execution took", ["actor", "status"],
    buckets=WORK_BUCKETS)
HTTP_REQUESTS = Counter(
    "showreel_http_requests_total", "HTTP requests by route template and status", ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "showreel_http_request_duration_seconds", "HTTP request latency by route template", ["method", "route"],
    buckets=HTTP_BUCKETS)
WEBHOOK_DELIVERIES = Counter(
    "showreel_webhook_deliveries_total", "Webhook delivery attempts by outcome and response class",
    ["outcome", "status_class"])
PAYMENTS = Counter(
    "showreel_payments_total", "Payments checked on chain: verified, or refused with the error code",
    ["outcome", "code"])
OPS_RUNS = Counter(
    "showreel_ops_runs_total", "Ops task runs by schedule and final status", ["schedule", "status"])
EVENTS_PUBLISHED = Counter(
    "showreel_events_published_total", "Outbox events the relay put on their stream, by event type", ["type"])
OPS_REMOVED_BYTES = Counter(
    "showreel_ops_removed_bytes_total", "Bytes ops tasks removed (temp files, orphan objects)", ["schedule"])

log = logging.getLogger(__name__)

_lock = threading.Lock()
_configured_dir: str | None = None


def process_identifier() -> str:
    """This process within the fleet: host name and PID (only ``[A-Za-z0-9.-]``: the collector splits on ``_``)."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "host"
    return f"{host}-{os.getpid()}"


def configure_metrics(settings: Settings) -> Path:
    """Point prometheus-client at this host's metrics folder (idempotent); return the folder."""
    global _configured_dir
    with _lock:
        directory = Path(settings.PROMETHEUS_MULTIPROC_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        if _configured_dir != str(directory):
            export_to_libraries(settings)
            # get_value_class() would name files by PID alone: every container's PID 1 writes *_1.db.
            values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)
            _configured_dir = str(directory)
        return directory


def _ensure() -> None:
    if _configured_dir is None:
        configure_metrics(get_settings())


def reset_metrics_dir(settings: Settings) -> Path:
    """Empty the metrics folder; run by the process supervisor before any process starts."""
    directory = Path(settings.PROMETHEUS_MULTIPROC_DIR)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def multiprocess_registry(settings: Settings) -> CollectorRegistry:
    """A registry holding the samples of every process that wrote to the folder."""
    directory = configure_metrics(settings)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    return registry


def serve_process_metrics(settings: Settings) -> int | None:
    """Serve this host's folder on METRICS_PORT in a daemon thread when set; return the port."""
    if not settings.METRICS_PORT:
        return None
    start_metrics_server(settings, settings.METRICS_HOST, settings.METRICS_PORT)
    log.info("metrics of %s on http://%s:%d/metrics", settings.PROMETHEUS_MULTIPROC_DIR, settings.METRICS_HOST,
             settings.METRICS_PORT)
    return settings.METRICS_PORT


def metrics_app(settings: Settings) -> WSGIApp:
    """The host's metrics as a WSGI app; it asks for the ops token when METRICS_REQUIRE_TOKEN is on."""
    app = make_wsgi_app(multiprocess_registry(settings))
    if not settings.METRICS_REQUIRE_TOKEN:
        return app
    # Only the bootstrap OPS_TOKEN: these processes have no request context to look up issued tokens.
    expected = bootstrap_token(settings, "OPS_TOKEN")

    def guarded(environ: dict, start_response: Callable) -> Iterable[bytes]:
        refusal = _token_refusal(environ.get("HTTP_AUTHORIZATION", ""), expected)
        if refusal is None:
            return app(environ, start_response)
        status, code, detail = refusal
        body = json.dumps({"type": "about:blank", "title": status.split(" ", 1)[1], "status": int(status[:3]),
                           "code": code, "detail": detail}).encode()
        start_response(status, [("Content-Type", "application/problem+json"), ("Content-Length", str(len(body))),
                                ("WWW-Authenticate", "Bearer")])
        return [body]

    return guarded


def _token_refusal(header: str, expected: str) -> tuple[str, str, str] | None:
    """Why a scrape with this Authorization header is refused (status, code, detail), or None; same codes as the API."""
    if not expected:
        return "403 Forbidden", "ops_token_not_configured", "metrics need the ops token: set OPS_TOKEN"
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    if not token:
        return "401 Unauthorized", "ops_token_required", "the ops token is required: Authorization: Bearer <token>"
    if not same_token(token, expected):
        return "403 Forbidden", "invalid_ops_token", "the ops token is not valid"
    return None


class _IPv6Server(ThreadingWSGIServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Log nothing: a scrape every few seconds would drown the process's own logs."""


def start_metrics_server(settings: Settings, host: str, port: int) -> WSGIServer:
    """Serve :func:`metrics_app` on ``host:port`` from a daemon thread; return the server."""
    server_class = _IPv6Server if ":" in host else ThreadingWSGIServer
    server = make_server(host, port, metrics_app(settings), server_class, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server


@contextmanager
def _timed(counter: Counter, histogram: Histogram, labels: dict[str, str]) -> Iterator[dict[str, str]]:
    """Count and time the block; the caller may change ``labels['status']`` before it ends."""
    _ensure()
    start = time.perf_counter()
    try:
        yield labels
    except BaseException:
        if labels.get("status") in (None, "success"):
            labels["status"] = "error"
        raise
    finally:
        elapsed = time.perf_counter() - start
        counter.labels(**labels).inc()
        histogram.labels(**labels).observe(elapsed)


def time_generation(media_type: str) -> AbstractContextManager[dict[str, str]]:
    return _timed(GENERATION_TOTAL, GENERATION_DURATION, {"media_type": media_type, "status": "success"})


def time_upload(provider: str) -> AbstractContextManager[dict[str, str]]:
    return _timed(UPLOAD_TOTAL, UPLOAD_DURATION, {"provider": provider, "status": "success"})


def record_task(actor: str, status: str, seconds: float) -> None:
    _ensure()
    TASK_TOTAL.labels(actor=actor, status=status).inc()
    TASK_DURATION.labels(actor=actor, status=status).observe(seconds)


def record_http_request(method: str, route: str, status: int, seconds: float) -> None:
    _ensure()
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_DURATION.labels(method=method, route=route).observe(seconds)


def record_webhook_delivery(outcome: str, status_code: int | None) -> None:
    """One webhook attempt: outcome ``delivered|failed|disabled``, the response code if any."""
    _ensure()
    status_class = f"{status_code // 100}xx" if status_code else "none"
    WEBHOOK_DELIVERIES.labels(outcome=outcome, status_class=status_class).inc()


def record_payment(outcome: str, code: str = "") -> None:
    """One payment check: outcome ``verified|refused`` and the refusal code (``payment_underpaid``...)."""
    _ensure()
    PAYMENTS.labels(outcome=outcome, code=code or "none").inc()


def record_events_published(event_types: Iterable[str]) -> None:
    """Count events the relay published (one per item of ``event_types``)."""
    _ensure()
    for event_type in event_types:
        EVENTS_PUBLISHED.labels(type=event_type).inc()


def record_ops_run(schedule: str, status: str, removed_bytes: int = 0) -> None:
    _ensure()
    OPS_RUNS.labels(schedule=schedule, status=status).inc()
    if removed_bytes:
        OPS_REMOVED_BYTES.labels(schedule=schedule).inc(removed_bytes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.metrics")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("reset", help="empty PROMETHEUS_MULTIPROC_DIR (before the processes of a host start)")
    serve = sub.add_parser("serve", help="serve this host's metrics (hosts that run no web process)")
    serve.add_argument("--bind", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9191)
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "reset":
        print(f"emptied {reset_metrics_dir(settings)}")
        return
    start_metrics_server(settings, args.bind, args.port)
    print(f"metrics of {settings.PROMETHEUS_MULTIPROC_DIR} on http://{args.bind}:{args.port}/", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
