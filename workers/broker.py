"""The one Dramatiq broker of a process, built from settings.

Actors bind to this broker explicitly (``broker=broker``) instead of relying on a
global set somewhere at import time.
"""

from __future__ import annotations

import dramatiq
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
from shared.redis_client import redis_url
from shared.settings import Settings, get_settings
from workers.concurrency import TenantConcurrency
from workers.observability import ObservabilityMiddleware
from workers.wakeup import WakeupRedisBroker

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
        Pipelines(),
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
        super().after_process_message(broker, message, result=result, exception=exception)


broker = build_broker(get_settings())
dramatiq.set_broker(broker)
