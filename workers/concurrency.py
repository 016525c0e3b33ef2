"""Dramatiq middleware capping how many heavy (video) steps of one tenant run at once.

The cap is opt-in per actor: an actor declared with ``tenant_cap=<function>`` is capped,
the function naming the tenant of a message's arguments (``media_job_tenant`` for media
jobs). Every other actor passes untouched. A message over its tenant's cap is put back
with a short delay and skipped (acked, not failed): the pipeline does not move on, no retry or delivery is counted, and the
worker thread is free at once for another tenant's work, so one client's burst
cannot starve the others.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable
from typing import Any

from dramatiq.errors import ActorNotFound
from dramatiq.message import generate_unique_id
from dramatiq.middleware import Middleware, SkipMessage

from shared.db import get_database
from shared.jobs.models import MediaJob
from shared.redis_client import get_redis
from shared.settings import Settings
from shared.tenants.concurrency import TenantSlots
from shared.tenants.service import tenant_limit

log = logging.getLogger(__name__)


# The tenant a capped actor's message works for (None: not capped, say the row is gone).
TenantOf = Callable[[Settings, tuple[Any, ...]], "str | None"]


class TenantConcurrency(Middleware):
    """Caps the actors declared with ``tenant_cap``: at most the tenant's ``video_concurrency`` at once."""

    @property
    def actor_options(self) -> set[str]:
        return {"tenant_cap"}

    def __init__(self, settings: Settings, *, requeue_delay_ms: int = 1000):
        self.settings = settings
        self.requeue_delay_ms = requeue_delay_ms
        self._held: dict[str, str] = {}
        self._lock = threading.Lock()
        self._slots: TenantSlots | None = None

    @property
    def slots(self) -> TenantSlots:
        if self._slots is None:
            # Two ffmpeg runs (poster and clip) fit in one lease; a dead worker's slot frees after it.
            self._slots = TenantSlots(get_redis(self.settings), kind="video",
                                      lease_seconds=2 * self.settings.FFMPEG_TIMEOUT + 120)
        return self._slots

    def before_process_message(self, broker, message):
        tenant_of = _tenant_cap(broker, message.actor_name)
        tenant_id = tenant_of(self.settings, tuple(message.args)) if tenant_of else None
        if tenant_id is None:
            return
        db = get_database(self.settings)
        cap = tenant_limit(db, self.settings, uuid.UUID(tenant_id), "video_concurrency")
        if self.slots.acquire(tenant_id, message.message_id, cap):
            with self._lock:
                self._held[message.message_id] = tenant_id
            return
        delay = self.requeue_delay_ms + random.randint(0, self.requeue_delay_ms // 2)
        broker.enqueue(message.copy(message_id=generate_unique_id()), delay=delay)
        log.debug("tenant %s is at its video cap (%d): %s put back for %d ms", tenant_id, cap,
                  message.actor_name, delay)
        raise SkipMessage(f"tenant {tenant_id} is at its video concurrency cap")

    def after_process_message(self, broker, message, *, result=None, exception=None):
        with self._lock:
            tenant_id = self._held.pop(message.message_id, None)
        if tenant_id is not None:
            try:
                self.slots.release(tenant_id, message.message_id)
            except Exception:  # the lease runs out by itself
                log.warning("could not release the video slot of tenant %s", tenant_id, exc_info=True)

    after_skip_message = after_process_message


def _tenant_cap(broker, actor_name: str) -> TenantOf | None:
    try:
        return broker.get_actor(actor_name).options.get("tenant_cap")
    except ActorNotFound:
        return None


_TENANTS: dict[str, str] = {}


def media_job_tenant(settings: Settings, args: tuple[Any, ...]) -> str | None:
    """The tenant of the media job a step message (``job_id, run``) works on; jobs never change
    tenant, so the answer is kept."""
    if not args:
        return None
    job_id = str(args[0])
    cached = _TENANTS.get(job_id)
    if cached is not None:
        return cached
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        return None
    with get_database(settings).session() as session:
        job = session.get(MediaJob, key)
        tenant = str(job.tenant_id) if job is not None else None
    if tenant is not None:
        if len(_TENANTS) > 10_000:
            _TENANTS.clear()
        _TENANTS[job_id] = tenant
    return tenant
