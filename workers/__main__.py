"""Process entry points: ``python -m workers {relay|dispatcher|worker QUEUE|health PROCESS}``.

Each process checks production settings first (shared/production.py), writes a heartbeat while
its loop goes round (shared/heartbeat.py) and, with METRICS_PORT set, serves its own /metrics.
``health`` is the container health check: it reads the heartbeat and exits 0 or 1.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from shared.heartbeat import BeatingStop, Heartbeat, probe
from shared.logs import configure_logging
from shared.metrics import serve_process_metrics
from shared.production import require_production_settings
from shared.settings import get_settings

log = logging.getLogger("workers")


def _stop_event(stop: threading.Event | None = None) -> threading.Event:
    stop = threading.Event() if stop is None else stop

    def handle(signum, _frame):
        log.info("received signal %s: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


# Each process kind imports what it runs inside its entry point, so ``health`` (the container
# probe, run every few seconds) loads no database, storage or actor code.
def run_relay() -> None:
    from shared.db import get_database
    from shared.redis_client import get_redis
    from workers.relay import run_relay as loop

    settings = get_settings()
    heartbeat = Heartbeat(settings, "relay")
    try:
        loop(get_database(settings), get_redis(settings), settings, _stop_event(BeatingStop(heartbeat)))
    finally:
        heartbeat.close()


def run_dispatcher() -> None:
    from shared.events.streams import all_streams
    from shared.redis_client import get_redis
    from workers.dispatcher import Dispatcher
    from workers.handlers import HANDLERS

    settings = get_settings()
    heartbeat = Heartbeat(settings, "dispatcher")
    try:
        Dispatcher(get_redis(settings), settings, HANDLERS, all_streams()).run(_stop_event(BeatingStop(heartbeat)))
    finally:
        heartbeat.close()


def run_worker(queue: str) -> None:
    import dramatiq

    from workers import actors, ops_actors, submission_actors  # noqa: F401  (declares the queues)
    from workers.broker import QUEUES, broker

    if queue not in QUEUES:
        raise SystemExit(f"unknown queue {queue!r}; one of {', '.join(QUEUES)}")
    settings = get_settings()
    threads = {"video": settings.WORKER_THREADS_VIDEO, "media": settings.WORKER_THREADS_MEDIA,
               "light": settings.WORKER_THREADS_LIGHT}[queue]
    stop = _stop_event()
    # An idle consumer blocks on its queue's wake-up list (workers/wakeup.py); worker_timeout only
    # paces the worker threads' checks for a stop.
    worker = dramatiq.Worker(broker, queues={queue}, worker_threads=threads, worker_timeout=100)
    worker.queue_prefetch = max(1, settings.BROKER_PREFETCH * threads)
    worker.start()
    log.info("worker for queue %s started with %d threads", queue, threads)
    start_scratch_sweeper(settings, stop)
    heartbeat = Heartbeat(settings, f"worker-{queue}")
    try:
        while True:
            if _threads_alive(worker):
                heartbeat.maybe_beat(force=True)
            else:
                log.error("a consumer or worker thread of queue %s died: heartbeat stopped", queue)
            if stop.wait(settings.HEARTBEAT_INTERVAL_SECONDS):
                break
    finally:
        heartbeat.close()
        worker.stop(timeout=30_000)


def start_scratch_sweeper(settings, stop: threading.Event | None = None) -> None:
    """Purge this host's TEMP_DIR on a timer: the scheduler's run lands on one host only."""
    from shared.db import get_database
    from shared.ops.purge import ScratchSweeper

    ScratchSweeper(settings, lambda: get_database(settings)).start(stop)


def _threads_alive(worker) -> bool:
    """Whether every consumer and worker thread of a Dramatiq worker still runs."""
    threads = [*worker.consumers.values(), *worker.workers]
    return bool(threads) and all(thread.is_alive() for thread in threads)


def health(process: str) -> int:
    """The health check of ``process`` (relay, dispatcher, worker-video, ..., scheduler): 0 when it beats."""
    healthy, line = probe(get_settings(), process)
    print(line)
    return 0 if healthy else 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workers")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("relay", help="publish the outbox to Redis Streams")
    sub.add_parser("dispatcher", help="turn stream events into Dramatiq pipelines")
    worker = sub.add_parser("worker", help="run a Dramatiq worker pool for one queue")
    worker.add_argument("queue")
    check = sub.add_parser("health", help="exit 0 when PROCESS wrote a recent heartbeat on this host, else 1")
    check.add_argument("process", help="relay, dispatcher, worker-video, worker-media, worker-light or scheduler")
    args = parser.parse_args(argv)
    if args.command == "health":
        sys.exit(health(args.process))
    settings = get_settings()
    process = args.command if args.command != "worker" else f"worker-{args.queue}"
    require_production_settings(settings, process)
    configure_logging(settings, process=process)
    serve_process_metrics(settings)
    if args.command == "relay":
        run_relay()
    elif args.command == "dispatcher":
        run_dispatcher()
    else:
        run_worker(args.queue)


if __name__ == "__main__":
    main()
