"""The scheduler process (``python -m scheduler``): see scheduler/service.py."""

from __future__ import annotations

import logging
import signal
import threading

from scheduler.service import SchedulerService
from shared.db import get_database
from shared.logs import configure_logging
from shared.redis_client import get_redis
from shared.settings import get_settings

log = logging.getLogger("scheduler")


def main() -> None:
    settings = get_settings()
    configure_logging(settings, process="scheduler")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    service = SchedulerService(settings, get_database(settings), get_redis(settings))
    log.info("scheduler %s started (standby until it holds the lock)", service.lock.token)
    service.run(stop)
    log.info("scheduler stopped")


if __name__ == "__main__":
    main()
