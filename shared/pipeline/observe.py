"""The observe hook: how a process times the generations and uploads of every pipeline.

The kernel calls the installed :class:`Observer` around each generation step and hands
it the storage an upload writes to; the default observes nothing. Worker processes
install a metrics observer (``workers/observability.py``), so domain code never imports
the metrics of a process it may not run in.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from shared.storage.base import StorageProvider


class Observer:
    """Observes nothing; subclass and :func:`install` to observe."""

    def generation(self, media_type: str) -> AbstractContextManager[object]:
        """A block that renders outputs of ``media_type`` (``image`` or ``video``)."""
        return nullcontext()

    def storage(self, storage: StorageProvider) -> StorageProvider:
        """The storage an upload step writes through (the same one, or a decorator of it)."""
        return storage


_observer = Observer()


def install(observer: Observer) -> None:
    """Make ``observer`` the process's observer (a worker does it once, at start)."""
    global _observer
    _observer = observer


def observer() -> Observer:
    return _observer
