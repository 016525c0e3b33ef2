"""Webhook delivery errors (stable codes; docs/ERRORS.md)."""

from __future__ import annotations

from shared.errors import Conflict, NotFound


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"


class DeliveryInProgress(Conflict):
    code = "delivery_in_progress"
