"""The one Dramatiq broker of a process, built from settings.

Actors bind to this broker explicitly (``broker=broker``) instead of relying on a
global set somewhere at import time.
"""

from __future__ import annotations

import logging
import time

import dramatiq
import dramatiq.errors
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from shared.errors import PermanentError
from shared.redis_client import REDIS_UNAVAILABLE, redis_url
from shared.settings import Settings, get_settings
from workers.concurrency import TenantConcurrency
from workers.observability import ObservabilityMiddleware
from workers.wakeup import WakeupRedisBroker, redeliver_instead_of_ack

log = logging.getLogger(__name__)

QUEUES = ("video", "media", "light")

# Heavy steps set their own ffmpeg timeout; Dramatiq's TimeLimit is only a last resort.
DEFAULT_TIME_LIMIT_MS = 2 * 60 * 60 * 1000


def build_broker(settings: Settings) -> WakeupRedisBroker:
    """Build a Redis broker whose enqueues wake idle workers, tuned so a killed worker's messages
    come back in seconds."""
    middleware = [
        # First, so its after-hooks run last: log context and task metrics around everything.
        ObservabilityMiddleware(),
        AgeLimit(),
        TimeLimit(time_limit=DEFAULT_TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        # The hand-off of each next step: a failed enqueue sends the step back instead of acking it.
        ReliablePipelines(),
        # The one retry layer: exponential backoff, permanent errors never retried.
        PermanentAwareRetries(max_retries=settings.STEP_MAX_RETRIES, min_backoff=settings.RETRY_MIN_BACKOFF_MS,
                              max_backoff=settings.RETRY_MAX_BACKOFF_MS),
        CurrentMessage(),
        # Heavy queue: at most N video steps of one tenant at once (shared through Redis).
        TenantConcurrency(settings),
    ]
    # Dramatiq requeues a dead worker's messages only after heartbeat_timeout and
    # during a random maintenance pass (0.1% of calls by default: minutes on a quiet
    # system). Both are tuned so recovery takes seconds; an idle consumer's poll, every
    # BROKER_IDLE_POLL_MS between wake-ups, always runs maintenance (workers/wakeup.py).
    return WakeupRedisBroker(url=redis_url(settings), middleware=middleware,
                             heartbeat_timeout=settings.BROKER_HEARTBEAT_TIMEOUT_MS,
                             maintenance_chance=settings.BROKER_MAINTENANCE_CHANCE,
                             idle_poll_ms=settings.BROKER_IDLE_POLL_MS)


# What a failed enqueue raises when Redis cannot take it now: unreachable, timed out (which may have
# enqueued it after all: the redelivery then hands off twice, which the step ledger makes harmless),
# out of memory or a read-only replica (shared.redis_client.REDIS_UNAVAILABLE). Any other error is a
# bug that a redelivery would only repeat, so it is left to Dramatiq's own handling (logged).
REDIS_DOWN = (*REDIS_UNAVAILABLE, dramatiq.errors.BrokerConnectionError)


class PermanentAwareRetries(Retries):
    """Dramatiq's retries, except that a PermanentError fails the message at once.

    A global ``retry_when`` would do the same but override every actor's own
    ``max_retries``; this keeps per-actor limits and treats permanent errors like
    ``throws`` on every actor.
    """

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if isinstance(exception, PermanentError):
            self.logger.info("Permanent error: failing message %r without retrying.", message.message_id)
            message.fail()
            return
        failed_before = message.failed
        try:
            super().after_process_message(broker, message, result=result, exception=exception)
        except REDIS_DOWN:
            # The retry (or the ``on_retry_exhausted`` message) could not be enqueued, Redis being
            # down: acked or dead-lettered now, the row would stay in a non-final state for good.
            # The message goes back to its queue instead, once Redis takes commands again.
            self.logger.warning("Could not enqueue the retry of message %r: redelivering it.", message.message_id,
                                exc_info=True)
            if not failed_before:
                message.failed = False  # not dead-lettered: redelivered (the ledger counts its deliveries)
            _redeliver_later(message)


class ReliablePipelines(Pipelines):
    """Dramatiq's Pipelines, except that a hand-off that fails does not lose the pipeline.

    Dramatiq enqueues the next step in an after-hook whose errors are only logged, and the
    current message is acked anyway: with Redis down at that moment the row would stop in
    a non-final state for good. Here the current message goes back to its queue instead of
    being acked (``redeliver_instead_of_ack``; the consumer retries that until Redis answers),
    and its redelivery finds its step ``done`` in the ledger, does nothing and hands off again.
    The next step goes to the head of its queue (``WakeupRedisBroker.handing_off``).
    """

    def after_process_message(self, broker, message, *, result=None, exception=None):
        try:
            with broker.handing_off():
                super().after_process_message(broker, message, result=result, exception=exception)
        except REDIS_DOWN:
            log.warning("Could not hand message %r on to the next step: redelivering it.", message.message_id,
                        exc_info=True)
            _redeliver_later(message)


# A redelivered message whose step is done does nothing but hand off again: if Redis keeps refusing
# that enqueue while it answers the requeue (say, out of memory), this pause keeps the loop at one
# round a second per worker thread instead of a busy spin.
REDELIVERY_PAUSE_SECONDS = 1.0


def _redeliver_later(message) -> None:
    time.sleep(REDELIVERY_PAUSE_SECONDS)
    redeliver_instead_of_ack(message)


broker = build_broker(get_settings())
dramatiq.set_broker(broker)
