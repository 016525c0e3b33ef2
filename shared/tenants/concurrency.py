"""Per-tenant slots for heavy work: at most N video steps of one tenant run at once.

A slot is a member of a Redis sorted set scored by its lease expiry, taken and
counted in one Lua call, so every worker on every machine shares the count. A lease
outlives the longest step; a worker killed mid-step leaves its slot until the lease
runs out, except to the same message, which takes its own slot back when redelivered.
"""

from __future__ import annotations

import time
import uuid

import redis

_KEY = "showreel:tenant-slots:{tenant}:{kind}"

_ACQUIRE = """
local key, member = KEYS[1], ARGV[1]
local cap, now, expires = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZSCORE', key, member) or redis.call('ZCARD', key) < cap then
  redis.call('ZADD', key, expires, member)
  redis.call('PEXPIRE', key, math.ceil((expires - now) * 1000))
  return 1
end
return 0
"""


class TenantSlots:
    def __init__(self, client: redis.Redis, *, kind: str = "video", lease_seconds: float = 3600.0):
        self.client = client
        self.kind = kind
        self.lease_seconds = lease_seconds
        self._acquire = client.register_script(_ACQUIRE)

    def key(self, tenant_id: uuid.UUID | str) -> str:
        return _KEY.format(tenant=tenant_id, kind=self.kind)

    def acquire(self, tenant_id: uuid.UUID | str, holder: str, cap: int) -> bool:
        """Take a slot for ``holder`` if the tenant has fewer than ``cap`` (or already holds this one)."""
        now = time.time()
        return bool(self._acquire(keys=[self.key(tenant_id)],
                                  args=[holder, max(1, cap), now, now + self.lease_seconds]))

    def release(self, tenant_id: uuid.UUID | str, holder: str) -> None:
        self.client.zrem(self.key(tenant_id), holder)

    def holders(self, tenant_id: uuid.UUID | str) -> list[str]:
        """Current holders (expired leases dropped)."""
        key = self.key(tenant_id)
        self.client.zremrangebyscore(key, "-inf", time.time())
        return [member.decode() if isinstance(member, bytes) else member for member in self.client.zrange(key, 0, -1)]
