"""``upload.received`` / ``upload.ready`` go through the outbox to events:uploads and the upload's watch stream."""

from __future__ import annotations

from sqlalchemy import select

from shared import metrics
from shared.events.models import OutboxEvent
from shared.events.streams import Event, watch_stream
from tests.api.test_uploads import upload
from tests.support.media import png_bytes
from workers.relay import publish_pending


def _events(redis_client, stream: str) -> list[Event]:
    return [Event.from_fields(fields) for _, fields in redis_client.xrange(stream)]


def test_upload_received_and_ready_events_are_written_through_the_outbox(client, db, redis_client, settings):
    response = upload(client, png_bytes(64, 48))
    assert response.status_code == 201
    upload_id = response.get_json()["id"]

    publish_pending(db, redis_client, settings)

    published = _events(redis_client, "events:uploads")
    assert [(e.type, e.aggregate_id) for e in published] == [("upload.received", upload_id),
                                                             ("upload.ready", upload_id)]
    assert published[0].payload["kind"] == "image"
    assert published[1].payload["info"]["width"] == 64
    watched = _events(redis_client, watch_stream("upload", upload_id))
    assert [e.type for e in watched] == ["upload.received", "upload.ready"]


def test_upload_events_are_not_recorded_for_a_refused_upload(client, db):
    response = upload(client, b"hello, this is not a picture\n" * 20, "photo.jpg")

    assert response.status_code == 415
    with db.session() as session:
        assert session.scalars(select(OutboxEvent.type).where(OutboxEvent.type.like("upload.%"))).all() == []


def _published(settings, event_type: str) -> float:
    # This process's own count: a metric child keeps writing to the folder of the test that created it.
    return metrics.EVENTS_PUBLISHED.labels(type=event_type)._value.get()


def test_upload_events_are_counted_per_event_type_by_the_relay(client, db, redis_client, settings):
    before = {kind: _published(settings, kind) for kind in ("upload.received", "upload.ready")}
    upload(client, png_bytes(32, 32))
    upload(client, png_bytes(40, 40))

    publish_pending(db, redis_client, settings)

    after = {kind: _published(settings, kind) for kind in ("upload.received", "upload.ready")}
    assert {kind: after[kind] - before[kind] for kind in after} == {"upload.received": 2.0, "upload.ready": 2.0}
