"""The webhook delivery log of a job, and re-delivery (tenant API key, like the media API)."""

from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_tenant_id
from api.webhooks import schemas
from shared.webhooks import service

blp = Blueprint("webhooks", __name__, url_prefix="/api", description="Webhook deliveries of media jobs")


@blp.route("/media/<uuid:job_id>/webhooks/")
class Deliveries(MethodView):
    @blp.response(200, schemas.Delivery(many=True))
    def get(self, job_id: uuid.UUID):
        """The job's webhook deliveries with every attempt (status code, error, timing)."""
        db = current_app.extensions["showreel.db"]
        return [service.delivery_view(d) for d in service.list_deliveries(db, current_tenant_id(), job_id)]


@blp.route("/media/<uuid:job_id>/webhooks/<uuid:delivery_id>/redeliver/")
class Redeliver(MethodView):
    @blp.response(202, schemas.Delivery)
    def post(self, job_id: uuid.UUID, delivery_id: uuid.UUID):
        """Send a delivery again: a new round with a fresh schedule and the same webhook-id.

        A disabled endpoint (it answered 410) is turned on again by this.
        """
        db = current_app.extensions["showreel.db"]
        return service.delivery_view(service.redeliver(db, current_tenant_id(), job_id, delivery_id))
