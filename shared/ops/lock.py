"""A lock in Redis with an expiry, held by one owner and renewed while it lives."""

from __future__ import annotations

import os
import socket
import uuid

import redis

# Renew or release only while we still own the lock (compare the token first).
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class LeaderLock:
    """``SET key token NX PX ttl``: whoever set it leads until it expires or is released."""

    def __init__(self, client: redis.Redis, key: str, ttl_seconds: float, *, owner: str | None = None):
        self.client = client
        self.key = key
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self.token = f"{owner or socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def acquire_or_renew(self) -> bool:
        """Take the lock if it is free, or extend it if it is ours; True while we hold it."""
        if self._renew(keys=[self.key], args=[self.token, self.ttl_ms]):
            return True
        return bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def release(self) -> None:
        self._release(keys=[self.key], args=[self.token])

    def holder(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else value
