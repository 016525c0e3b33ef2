"""The scheduler process (``python -m scheduler``): see scheduler/service.py.

Its health check is ``python -m workers health scheduler`` (the heartbeat of shared/heartbeat.py).
"""

from __future__ import annotations

import logging
import signal

from scheduler.service import SchedulerService
from shared.db import get_database
from shared.heartbeat import BeatingStop, Heartbeat
from shared.logs import configure_logging
from shared.metrics import serve_process_metrics
from shared.production import require_production_settings
from shared.redis_client import get_redis
from shared.settings import get_settings

log = logging.getLogger("scheduler")


def main() -> None:
    settings = get_settings()
    require_production_settings(settings, "scheduler")
    configure_logging(settings, process="scheduler")
    serve_process_metrics(settings)
    heartbeat = Heartbeat(settings, "scheduler")
    # The service asks the event once per tick, standby or leader: each ask beats.
    stop = BeatingStop(heartbeat)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    service = SchedulerService(settings, get_database(settings), get_redis(settings))
    log.info("scheduler %s started (standby until it holds the lock)", service.lock.token)
    try:
        service.run(stop)
    finally:
        heartbeat.close()
    log.info("scheduler stopped")


if __name__ == "__main__":
    main()
