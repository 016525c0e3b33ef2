"""Process entry points: ``python -m workers {relay|dispatcher|worker QUEUE}``."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from shared.logs import configure_logging
from shared.settings import get_settings

log = logging.getLogger("workers")


def _stop_event() -> threading.Event:
    stop = threading.Event()

    def handle(signum, _frame):
        log.info("received signal %s: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def run_relay() -> None:
    from shared.db import get_database
    from shared.redis_client import get_redis
    from workers.relay import run_relay as loop

    settings = get_settings()
    loop(get_database(settings), get_redis(settings), settings, _stop_event())


def run_dispatcher() -> None:
    from shared.events.streams import all_streams
    from shared.redis_client import get_redis
    from workers.dispatcher import Dispatcher
    from workers.handlers import HANDLERS

    settings = get_settings()
    Dispatcher(get_redis(settings), settings, HANDLERS, all_streams()).run(_stop_event())


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
    # A short worker_timeout keeps idle polling latency low; the broker long-polls up to it.
    worker = dramatiq.Worker(broker, queues={queue}, worker_threads=threads, worker_timeout=100)
    worker.queue_prefetch = max(1, settings.BROKER_PREFETCH * threads)
    worker.start()
    log.info("worker for queue %s started with %d threads", queue, threads)
    stop.wait()
    worker.stop(timeout=30_000)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workers")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("relay", help="publish the outbox to Redis Streams")
    sub.add_parser("dispatcher", help="turn stream events into Dramatiq pipelines")
    worker = sub.add_parser("worker", help="run a Dramatiq worker pool for one queue")
    worker.add_argument("queue")
    args = parser.parse_args(argv)
    configure_logging(get_settings(), process=args.command if args.command != "worker" else f"worker-{args.queue}")
    if args.command == "relay":
        run_relay()
    elif args.command == "dispatcher":
        run_dispatcher()
    else:
        run_worker(args.queue)


if __name__ == "__main__":
    main()
