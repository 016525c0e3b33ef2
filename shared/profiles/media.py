"""Links to a profile's stored media (presigned at read time: stored keys never expire, links do)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.settings import Settings
from shared.storage.base import StorageProvider

MEDIA_GROUPS = ("avatar", "video")


def with_media_urls(view: dict[str, Any], storage: StorageProvider, settings: Settings) -> dict[str, Any]:
    """Add ``url`` to every stored output of ``view["avatar"]`` and ``view["video"]``."""
    ttl = timedelta(seconds=settings.PRESIGNED_URL_TTL)
    view = dict(view)
    for group in MEDIA_GROUPS:
        outputs = view.get(group)
        if not isinstance(outputs, dict):
            continue
        linked = {}
        for name, output in outputs.items():
            if isinstance(output, dict) and output.get("key"):
                output = {**output, "url": storage.presigned_url(output["key"], expires=ttl)}
            linked[name] = output
        view[group] = linked
    return view
