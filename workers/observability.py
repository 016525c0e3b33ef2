"""What every worker process records: task metrics, the log context, generation and upload metrics.

``ObservabilityMiddleware`` goes first in the broker's middleware list: its
``before_*`` hooks run first and its ``after_*`` hooks last (Dramatiq calls them in
reverse), so the log context of a message is bound while every other middleware
runs, including Pipelines and Retries enqueueing the next step or a retry; those
messages get the same context in their options.

The step wrappers time the media steps without touching ``shared/jobs/steps.py``:
``convert``/``preview`` are generations (by media type), the storage writes of
``upload`` are uploads (by storage provider).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from typing import Any

from dramatiq.middleware import Middleware

from shared import metrics
from shared.errors import PermanentError
from shared.jobs import steps
from shared.logs import bind_context, carried_context, reset_context
from shared.media.errors import ProcessingCanceled
from shared.storage import PROVIDERS, provider_class

log = logging.getLogger("workers.tasks")

OPTION = "log_context"


class ObservabilityMiddleware(Middleware):
    """Log context in and out of messages; ``thumbnail_task_execution_*`` per actor and outcome."""

    def __init__(self) -> None:
        self._local = threading.local()

    def before_enqueue(self, broker, message, delay):
        if OPTION not in message.options:
            context = carried_context(include_event=True)
            if context:
                message.options[OPTION] = context

    def before_process_message(self, broker, message):
        context = dict(message.options.get(OPTION) or {})
        tokens = bind_context(**context, actor=message.actor_name, message_id=message.message_id,
                              queue=message.queue_name)
        self._stack().append((tokens, time.perf_counter()))
        log.info("task started: %s", message.actor_name,
                 extra={"retries": message.options.get("retries", 0)})

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is None:
            status = "success"
        elif isinstance(exception, PermanentError):
            status = "failed"
        else:
            status = "error"
        self._finish(message, status, exception)

    def after_skip_message(self, broker, message):
        self._finish(message, "skipped", None)

    def _finish(self, message, status: str, exception: BaseException | None) -> None:
        stack = self._stack()
        if not stack:
            return
        tokens, started = stack.pop()
        elapsed = time.perf_counter() - started
        try:
            metrics.record_task(message.actor_name, status, elapsed)
            fields = {"status": status, "duration_ms": round(elapsed * 1000, 1)}
            if exception is not None:
                fields["error"] = f"{type(exception).__name__}: {exception}"[:500]
                log.warning("task %s: %s", status, message.actor_name, extra=fields)
            else:
                log.info("task %s: %s", status, message.actor_name, extra=fields)
        finally:
            reset_context(tokens)

    def _stack(self) -> list:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack


def provider_name(storage: Any) -> str:
    for name in PROVIDERS:
        if isinstance(storage, provider_class(name)):
            return name
    return type(storage).__name__.lower()


class InstrumentedStorage:
    """A storage whose ``put_file`` counts and times each write (everything else passes through)."""

    def __init__(self, storage: Any):
        self._storage = storage
        self._provider = provider_name(storage)

    def put_file(self, *args: Any, **kwargs: Any) -> Any:
        with metrics.time_upload(self._provider):
            return self._storage.put_file(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


def _generation(step):
    @functools.wraps(step)
    def timed(ctx, job):
        with metrics.time_generation(job.kind) as labels:
            try:
                return step(ctx, job)
            except ProcessingCanceled:
                labels["status"] = "canceled"
                raise
            except PermanentError:
                labels["status"] = "failed"
                raise

    timed.__showreel_instrumented__ = True
    return timed


def _upload(step):
    @functools.wraps(step)
    def instrumented(ctx, job):
        storages = ctx.storages
        return step(dataclasses.replace(ctx, storages=lambda tenant_id: InstrumentedStorage(storages(tenant_id))),
                    job)

    instrumented.__showreel_instrumented__ = True
    return instrumented


_WRAPPERS = {"convert": _generation, "preview": _generation, "upload": _upload}


def instrument_steps() -> None:
    """Wrap the media steps once per process (the actors look them up in ``STEP_FUNCTIONS``)."""
    for name, wrapper in _WRAPPERS.items():
        step = steps.STEP_FUNCTIONS.get(name)
        if step is not None and not getattr(step, "__showreel_instrumented__", False):
            steps.STEP_FUNCTIONS[name] = wrapper(step)


instrument_steps()
