"""Run the event pipeline (relay, dispatcher, Dramatiq workers) inside the test process."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dramatiq
import requests


@contextmanager
def pipeline_runtime(settings, *, queues=("video", "media", "light"), worker_threads: int = 4,
                     relay: bool = True) -> Iterator[None]:
    """Start the relay and dispatcher threads and a Dramatiq worker; stop them on exit."""
    from shared.db import get_database
    from shared.events.streams import all_streams
    from shared.redis_client import get_redis
    from workers import actors  # noqa: F401
    from workers.broker import broker
    from workers.dispatcher import Dispatcher
    from workers.handlers import HANDLERS
    from workers.relay import run_relay

    stop = threading.Event()
    client = get_redis(settings)
    threads = [threading.Thread(target=Dispatcher(client, settings, HANDLERS, all_streams()).run,
                                args=(stop,), daemon=True, name="dispatcher")]
    if relay:
        threads.append(threading.Thread(target=run_relay, args=(get_database(settings), client, settings, stop),
                                        daemon=True, name="relay"))
    worker = None
    if queues:
        for queue in queues:
            broker.declare_queue(queue)
        worker = dramatiq.Worker(broker, queues=set(queues), worker_threads=worker_threads, worker_timeout=100)
        worker.queue_prefetch = max(1, settings.BROKER_PREFETCH * worker_threads)  # as workers/__main__.py
        worker.start()
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        if worker is not None:
            worker.stop(timeout=10_000)


def wait_for(predicate: Callable[[], object], *, timeout: float, interval: float = 0.1, message: str = ""):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}: last={last!r}")


def wait_until_serving(base: str, process: subprocess.Popen) -> None:
    """Wait until a started web process answers /healthz; fail with its stderr if it exited."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode()[-2000:])
        try:
            if requests.get(f"{base}/healthz", timeout=5).ok:
                return
        except requests.RequestException:  # not listening yet, or the worker still booting
            pass
        time.sleep(0.2)
    raise AssertionError("gunicorn did not start")
