"""The Redis client used for streams and bookkeeping (the broker builds its own)."""

from __future__ import annotations

import redis

from shared.errors import ServiceUnavailable
from shared.settings import Settings

_clients: dict[str, redis.Redis] = {}

# Redis cannot take the command now and will again: unreachable or slow (a restart, an outage), a
# replica promoted mid-failover still refusing writes, or out of memory under ``noeviction``. The
# API answers these 503 with Retry-After; the workers put the message back instead of acking it
# (workers/broker.py, workers/wakeup.py). Any other error reply is a bug a retry would repeat.
REDIS_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, redis.exceptions.OutOfMemoryError)


class RedisNotConfigured(ServiceUnavailable):
    code = "redis_not_configured"


def redis_url(settings: Settings) -> str:
    if not settings.REDIS_URL:
        raise RedisNotConfigured("REDIS_URL is not set; `make run` starts an embedded Redis and sets it")
    return settings.REDIS_URL


def get_redis(settings: Settings) -> redis.Redis:
    """Return a shared client for the settings' Redis (one connection pool per URL)."""
    url = redis_url(settings)
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10,
                                                      health_check_interval=30)
    return client
