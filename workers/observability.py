"""What every worker process records: task metrics, the log context, generation and upload metrics.

``ObservabilityMiddleware`` goes first in the broker's middleware list: its
``before_*`` hooks run first and its ``after_*`` hooks last (Dramatiq calls them in
reverse), so the log context of a message is bound while every other middleware
runs, including Pipelines and Retries enqueueing the next step or a retry; those
messages get the same context in their options.

``MetricsObserver`` is the pipeline kernel's observe hook (``shared/pipeline/observe.py``),
installed when this module is imported: the ``convert``/``preview`` steps of media jobs
and submissions are generations (by media type), the storage writes of their ``upload``
steps are uploads (by storage provider).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from dramatiq.middleware import Middleware

from shared import metrics
from shared.errors import PermanentError
from shared.logs import bind_context, carried_context, reset_context
from shared.media.errors import ProcessingCanceled
from shared.pipeline.observe import Observer, install
from shared.storage.base import StorageProvider
from shared.storage.instrumented import InstrumentedStorage

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


class MetricsObserver(Observer):
    """The pipeline kernel's observer in a worker: generations and uploads become metrics."""

    @contextmanager
    def generation(self, media_type: str) -> Iterator[None]:
        with metrics.time_generation(media_type) as labels:
            try:
                yield
            except ProcessingCanceled:
                labels["status"] = "canceled"
                raise
            except PermanentError:
                labels["status"] = "failed"
                raise

    def storage(self, storage: StorageProvider) -> StorageProvider:
        return InstrumentedStorage(storage, metrics.time_upload)


install(MetricsObserver())
