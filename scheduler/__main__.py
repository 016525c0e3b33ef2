"""The scheduler process: APScheduler with its jobs stored in the database.

Ops jobs (temp purge at midnight and the rest) are added by the ops feature; the
process, its job store and its lifecycle are here so every deployment already
runs it.
"""

from __future__ import annotations

import logging
import signal
import threading

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from shared.db import get_database
from shared.logs import configure_logging
from shared.settings import get_settings

log = logging.getLogger("scheduler")


def build_scheduler() -> BackgroundScheduler:
    settings = get_settings()
    store = SQLAlchemyJobStore(engine=get_database(settings).engine, tablename="scheduler_jobs")
    return BackgroundScheduler(jobstores={"default": store}, timezone="UTC")


def main() -> None:
    configure_logging(get_settings(), process="scheduler")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    scheduler = build_scheduler()
    scheduler.start()
    log.info("scheduler started with %d stored jobs", len(scheduler.get_jobs()))
    stop.wait()
    scheduler.shutdown(wait=False)


if __name__ == "__main__":
    main()
