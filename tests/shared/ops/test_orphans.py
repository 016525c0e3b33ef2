"""The orphan sweep and the expiry of abandoned uploads."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

from shared.db import utcnow
from shared.jobs.models import MediaJob
from shared.ops.orphans import sweep_orphans
from shared.ops.tasks import build_context, expire_incoming
from shared.storage import get_default_storage
from tests.support.ops import make_job, write

DAY = timedelta(hours=24)


def put(storage, settings, key: str, size: int, hours_old: float) -> str:
    storage.put_bytes(key, b"x" * size)
    when = time.time() - hours_old * 3600
    os.utime(Path(settings.LOCAL_STORAGE_DIR) / key, (when, when))
    return key


def test_objects_no_row_refers_to_are_found_in_a_dry_run_and_removed_for_real(db, settings):
    storage = get_default_storage(settings)
    done = make_job(db, "done")
    running = make_job(db, "processing")
    with db.session() as session:
        session.get(MediaJob, done).outputs = {"thumb": {"state": "done", "key": f"media/{done}/thumb.jpg"}}
    kept = [put(storage, settings, f"media/{done}/source.png", 10, 48),
            put(storage, settings, f"media/{done}/thumb.jpg", 20, 48),
            put(storage, settings, f"media/{running}/anything.webm", 30, 48),     # its job still runs
            put(storage, settings, "media/00000000-0000-4000-8000-00000000abcd/new.jpg", 40, 1),  # too young
            put(storage, settings, "profiles/someone/avatar.jpg", 50, 48)]  # no owner registered: never touched
    orphans = [put(storage, settings, f"media/{done}/leftover-preview.webm", 60, 48),
               put(storage, settings, "media/00000000-0000-4000-8000-00000000dead/source.mp4", 70, 48)]

    dry = sweep_orphans(db, storage, min_age=DAY, now=utcnow(), dry_run=True)
    assert sorted(dry["orphans"]) == sorted(orphans) and dry["orphan_bytes"] == 130
    assert dry["objects_removed"] == 0 and all(storage.exists(key) for key in orphans)

    real = sweep_orphans(db, storage, min_age=DAY, now=utcnow(), dry_run=False)
    assert real["objects_removed"] == 2 and real["bytes_removed"] == 130 and real["errors"] == []
    assert not any(storage.exists(key) for key in orphans)
    assert all(storage.exists(key) for key in kept)
    assert real["objects_too_young"] == 1


def test_upload_files_nobody_writes_to_any_more_are_expired(db, settings):
    incoming = Path(settings.TEMP_DIR) / "incoming"
    stale = write(incoming / "a.part", 100, 2)
    live = write(incoming / "b.part", 100, 0.1)
    other = write(incoming / "notes.txt", 100, 2)

    report = expire_incoming(build_context(settings, db), dry_run=False)

    assert not stale.exists() and live.exists() and other.exists()
    assert report == {"files_removed": 1, "bytes_removed": 100, "errors": []}


def test_published_outbox_events_past_the_retention_are_pruned(db, settings):
    from shared.events.models import OutboxEvent
    from shared.ops.tasks import TASKS

    now = utcnow()
    with db.session() as session:
        for published_at in (now - timedelta(days=8), now - timedelta(days=8), now - timedelta(days=1), None):
            session.add(OutboxEvent(stream="events:jobs", type="job.done", aggregate_id="x", payload={},
                                    created_at=now - timedelta(days=9), published_at=published_at))
    task = TASKS["prune-outbox"]
    report = task.run(build_context(settings, db), task.clean_params({"batch": 1}))
    assert report["events_deleted"] == 2
    with db.session() as session:
        left = sorted((e.published_at is None) for e in session.query(OutboxEvent).all())
    assert left == [False, True]  # the young published one and the unpublished one stay
