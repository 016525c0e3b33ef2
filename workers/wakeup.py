"""Dramatiq's Redis broker, with idle consumers woken by enqueues instead of polling.

Dramatiq 2.x's Redis consumer has no blocking fetch: with nothing to fetch it sleeps up to
``worker_timeout`` and asks again, so latency and idle Redis traffic trade against each other.
This extension keeps Dramatiq's queues, Lua script, acks, heartbeats and maintenance as they are
and adds one list per queue, ``dramatiq:<queue>.wakeup``:

- ``enqueue`` runs Dramatiq's own ``dispatch`` script and pushes a token onto that list, in one
  round trip (a pipeline);
- an idle consumer blocks on the list (``BLPOP``) instead of sleeping, and fetches as soon as a
  token arrives. A token stays in the list until someone takes it, so an enqueue between a
  consumer's empty fetch and its ``BLPOP`` still wakes it (pub/sub would lose it);
- a hand-off (the next step of a pipeline a worker has started, ``handing_off``) goes to the head
  of its queue, not the tail: under a backlog a job that has begun finishes before new jobs begin,
  so each job's latency is its own work, not the whole backlog's (new jobs, retries and
  redeliveries still queue at the tail, so nothing waits for ever: a job has a few steps);
- the wait is bounded (``BROKER_IDLE_POLL_MS``, at most a quarter of the heartbeat timeout) and by
  the next due message the consumer thread holds for a delayed queue; when it runs out the
  consumer polls as Dramatiq does, which refreshes its heartbeat, and that idle poll always runs
  the maintenance that requeues the messages of dead workers. A lost or stolen token costs at
  most one idle poll, never a message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import MAINTENANCE_COMMAND_BLACKLIST, RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff, current_millis
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from shared.redis_client import REDIS_UNAVAILABLE

WAKEUP_SUFFIX = ".wakeup"
# Set on a MessageProxy whose processing must not be acked: it goes back to its queue instead.
REDELIVER_ATTRIBUTE = "_showreel_redeliver"
# Tokens kept for a queue nobody consumes right now: enough to wake every thread of a pool.
WAKEUP_CAP = 64
# Moves a message just pushed to the tail of its queue (KEYS[1]) to the head, unless a consumer took it.
TO_HEAD_SCRIPT = """
if redis.call('lrem', KEYS[1], -1, ARGV[1]) == 1 then
    redis.call('lpush', KEYS[1], ARGV[1])
end
"""
# While a consumer is full (prefetch reached) it checks this often for a free slot (no Redis traffic).
FULL_BACKOFF_MS = 10


def redeliver_instead_of_ack(message: MessageProxy) -> None:
    """Have the consumer put ``message`` back on its queue instead of acking it (workers/broker.py).

    Dramatiq's consumer thread retries a failed ack until Redis answers; the requeue takes the
    ack's place, so it is retried the same way, and a worker killed meanwhile leaves the message
    in its ack set, where maintenance requeues it.
    """
    setattr(message, REDELIVER_ATTRIBUTE, True)


class WakeupRedisBroker(RedisBroker):
    """A RedisBroker whose enqueues wake a blocked consumer of the queue."""

    def __init__(self, *, idle_poll_ms: int = 2000, **kwargs):
        super().__init__(**kwargs)
        # The idle poll refreshes the heartbeat: it must come well inside the heartbeat timeout.
        self.idle_poll_ms = max(1, min(idle_poll_ms, self.heartbeat_timeout // 4))
        self._maintenance = threading.local()
        self._hand_off = threading.local()
        self.to_head = self.client.register_script(TO_HEAD_SCRIPT)

    @property
    def consumer_class(self):
        return WakeupConsumer

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> WakeupConsumer:
        # Called by the ConsumerThread itself: the consumer reads that thread's delayed messages.
        return WakeupConsumer(self, queue_name, prefetch, timeout, threading.current_thread())

    def wakeup_key(self, queue_name: str) -> str:
        return f"{self.namespace}:{queue_name}{WAKEUP_SUFFIX}"

    @contextmanager
    def handing_off(self) -> Iterator[None]:
        """Enqueues of this thread inside the block are hand-offs: they go to the head of their queue."""
        self._hand_off.active = True
        try:
            yield
        finally:
            self._hand_off.active = False

    def do_enqueue(self, queue_name: str, message_id: str, data: bytes):
        """Dramatiq's enqueue plus a wake-up token (a hand-off moved to the head), in one round trip."""
        dispatch = self.scripts["dispatch"]
        calls = [(dispatch, [self.namespace], ["enqueue", current_millis(), queue_name, self.broker_id,
                                               self.heartbeat_timeout, self.dead_message_ttl,
                                               self._should_do_maintenance("enqueue"), self._max_unpack_size(),
                                               message_id, data])]
        if getattr(self._hand_off, "active", False) and not queue_name.endswith(".DQ"):
            calls.append((self.to_head, [f"{self.namespace}:{queue_name}"], [message_id]))
        key = self.wakeup_key(queue_name)
        pipe = self.client.pipeline(transaction=False)
        for script, keys, args in calls:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
        pipe.lpush(key, 1)
        pipe.ltrim(key, 0, WAKEUP_CAP - 1)
        results = pipe.execute(raise_on_error=False)
        for (script, keys, args), result in zip(calls, results, strict=False):
            if isinstance(result, redis.exceptions.NoScriptError):
                script(keys=keys, args=args)  # Redis lost its scripts (restart): load and run
            elif isinstance(result, Exception):
                raise result
        for result in results[len(calls):]:
            if isinstance(result, Exception):
                raise result

    def fetch_idle(self, queue_name: str, count: int):
        """Fetch after an idle wait ran out, with maintenance (requeue dead workers' messages)."""
        self._maintenance.forced = True
        try:
            return self.do_fetch(queue_name, count)
        finally:
            self._maintenance.forced = False

    def _should_do_maintenance(self, command: str) -> int:
        if getattr(self._maintenance, "forced", False) and command not in MAINTENANCE_COMMAND_BLACKLIST:
            return 1
        return super()._should_do_maintenance(command)


class WakeupConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer, blocking on the queue's wake-up list while it has nothing to do."""

    def __init__(self, broker: WakeupRedisBroker, queue_name: str, prefetch: int, timeout: int, thread):
        super().__init__(broker, queue_name, prefetch, timeout)
        self.thread = thread
        self.wakeup_key = broker.wakeup_key(queue_name)
        self.idle = False  # the last wait ran out without a wake-up

    def __next__(self):
        try:
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is None:  # Dramatiq's #266: skip, as its consumer does
                        continue
                    self.misses = 0
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    return MessageProxy(message)
                free = self.prefetch - self.outstanding_message_count
                if free <= 0:
                    # Full until a message is acked: nothing to ask Redis for.
                    self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=FULL_BACKOFF_MS)
                    time.sleep(backoff_ms / 1000)
                    return None
                fetch = self.broker.fetch_idle if self.idle else self.broker.do_fetch
                self.message_cache = fetch(self.queue_name, free)
                self.idle = False
                if not self.message_cache:
                    self.idle = not self._wait()
                    return None  # lets the thread re-enqueue due delayed messages and see a stop
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None

    def ack(self, message):
        if not getattr(message, REDELIVER_ATTRIBUTE, False):
            return super().ack(message)
        try:
            self.requeue([message])
        except REDIS_UNAVAILABLE as e:
            # Retried by the consumer thread, as an ack is: a timeout or a refusal (out of memory, a
            # read-only replica during failover) must not leave the message in this worker's ack set.
            raise ConnectionClosed(e) from None
        self.queued_message_ids.discard(message.message_id)

    def requeue(self, messages):
        messages = list(messages)
        super().requeue(messages)
        if messages:
            self.broker.client.lpush(self.wakeup_key, 1)  # another consumer may take them now

    def _wait(self) -> bool:
        """Block until an enqueue wakes us or the idle poll is due; return whether we were woken."""
        seconds = self.broker.idle_poll_ms / 1000
        due = self._next_delayed_eta()
        if due is not None:
            seconds = min(seconds, (due - current_millis()) / 1000)
        if seconds <= 0.001:
            return True
        return self.broker.client.blpop([self.wakeup_key], timeout=seconds) is not None

    def _next_delayed_eta(self) -> int | None:
        """The eta of the first delayed message this consumer's thread holds (delay queues only)."""
        held = getattr(getattr(self.thread, "delay_queue", None), "queue", None)
        try:
            return int(held[0].priority) if held else None
        except (IndexError, AttributeError, TypeError, ValueError):
            return None
