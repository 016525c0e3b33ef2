"""Gauges read at scrape time: queues, streams, outbox, schedules.

They describe shared state (Redis, the database), so they are computed when
Prometheus scrapes instead of being kept by some process. A dependency that is
down leaves its gauges out and sets ``showreel_dependency_up`` to 0; /metrics
itself still answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import redis
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from shared.db import Database
from shared.ops import queues
from shared.ops.models import OpsRun, RunStatus
from shared.webhooks.models import WebhookDelivery

WEBHOOK_BACKLOG_STATES = ("pending", "sending")

log = logging.getLogger(__name__)


class SystemCollector:
    def __init__(self, db: Database, client: Callable[[], redis.Redis]):
        self.db = db
        self.client = client

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("showreel_dependency_up", "Whether the scrape could read the dependency",
                               labels=["dependency"])
        up.add_metric(["redis"], 1.0 if (yield from self._redis()) else 0.0)
        up.add_metric(["database"], 1.0 if (yield from self._database()) else 0.0)
        yield up

    def _redis(self):
        try:
            client = self.client()
            depths = queues.queue_depths(client)
            streams = queues.stream_backlogs(client)
        except Exception as exc:  # noqa: BLE001 - Redis down or not configured: the scrape must still answer
            log.warning("metrics: Redis unavailable (%s)", type(exc).__name__)
            return False
        messages = GaugeMetricFamily("showreel_queue_messages", "Messages of a Dramatiq queue by state",
                                     labels=["queue", "state"])
        oldest = GaugeMetricFamily("showreel_queue_oldest_message_age_seconds",
                                   "Age of the oldest ready message of a queue (0 when empty)", labels=["queue"])
        for depth in depths:
            for state in ("ready", "in_progress", "delayed", "dead"):
                messages.add_metric([depth["queue"], state], depth[state])
            oldest.add_metric([depth["queue"]], depth["oldest_age_seconds"] or 0.0)
        length = GaugeMetricFamily("showreel_stream_length", "Entries in an event stream", labels=["stream"])
        pending = GaugeMetricFamily("showreel_stream_pending",
                                    "Entries delivered to a consumer group and not yet acknowledged",
                                    labels=["stream", "group"])
        lag = GaugeMetricFamily("showreel_stream_lag", "Entries not yet delivered to a consumer group",
                                labels=["stream", "group"])
        for stream in streams:
            length.add_metric([stream["stream"]], stream["length"])
            for group in stream["groups"]:
                pending.add_metric([stream["stream"], group["group"]], group["pending"])
                if group["lag"] is not None:
                    lag.add_metric([stream["stream"], group["group"]], group["lag"])
        yield from (messages, oldest, length, pending, lag)
        return True

    def _database(self):
        try:
            backlog = queues.outbox_backlog(self.db)
            with self.db.session() as session:
                last_success = session.execute(
                    select(OpsRun.schedule, func.max(OpsRun.finished_at))
                    # A host's own scratch sweep (trigger "host") must not hide a failing scheduled purge-temp.
                    .where(OpsRun.status == RunStatus.SUCCEEDED, OpsRun.trigger != "host")
                    .group_by(OpsRun.schedule)).all()
                # Only the unfinished states: their index keeps this cheap however long the history.
                webhooks = dict(session.execute(
                    select(WebhookDelivery.status, func.count())
                    .where(WebhookDelivery.status.in_(WEBHOOK_BACKLOG_STATES))
                    .group_by(WebhookDelivery.status)).all())
        except Exception as exc:  # noqa: BLE001 - database down: the scrape must still answer
            log.warning("metrics: database unavailable (%s)", type(exc).__name__)
            return False
        outbox = GaugeMetricFamily("showreel_outbox_backlog", "Outbox events not yet published to Redis")
        outbox.add_metric([], backlog["unpublished"])
        outbox_age = GaugeMetricFamily("showreel_outbox_oldest_age_seconds",
                                       "Age of the oldest unpublished outbox event (0 when none)")
        outbox_age.add_metric([], backlog["oldest_age_seconds"] or 0.0)
        success = GaugeMetricFamily("showreel_ops_last_success_timestamp_seconds",
                                    "When the last successful run of a schedule finished", labels=["schedule"])
        for schedule, finished_at in last_success:
            if finished_at is not None:
                success.add_metric([schedule], finished_at.timestamp())
        backlog_gauge = GaugeMetricFamily("showreel_webhook_deliveries_backlog",
                                          "Webhook deliveries waiting for an attempt or in flight", labels=["status"])
        for state in WEBHOOK_BACKLOG_STATES:
            backlog_gauge.add_metric([state], webhooks.get(state, 0))
        yield from (outbox, outbox_age, success, backlog_gauge)
        return True
