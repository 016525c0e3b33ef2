"""The orphan sweep: storage objects that no row refers to.

Every storage jobs may have written to is swept (:func:`sweep_every_storage`): the
platform storage, each tenant's part of it (``tenants/<id>/``) and every storage
connection a tenant has used (old ones too: their jobs' objects stay there). Only
prefixes with a registered owner are looked at; an object under any other prefix is
never touched. An owner says which of a batch of keys its rows still
refer to. Objects younger than ``ORPHAN_MIN_AGE_HOURS`` are skipped, because
writers put an object before the row that refers to it is committed (a job's
source, an output uploaded before the step records it).

The schedule runs as a dry run until ops turn that off: the run report lists
what would go.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from shared.db import Database
from shared.jobs.models import FINAL_STATUSES, MediaJob
from shared.settings import Settings
from shared.storage.base import StorageProvider, StoredObject
from shared.submissions.models import Submission
from shared.tenants.storage import TenantStorages

MAX_LISTED = 100
MAX_ERRORS = 50
BATCH = 500

Referenced = Callable[[Database, list[StoredObject]], set[str]]


@dataclass(frozen=True)
class ObjectOwner:
    prefix: str
    referenced: Referenced
    description: str


_JOB_KEY = re.compile(r"^media/([0-9a-fA-F-]{36})/")


def _keys_by_owner(objects: list[StoredObject], layout: re.Pattern[str]) -> tuple[dict[uuid.UUID, list[str]], set[str]]:
    """Group the keys by the owner id ``layout`` finds in them; keys of another layout come back in
    the second set (not ours: never ours to delete)."""
    by_owner: dict[uuid.UUID, list[str]] = {}
    foreign: set[str] = set()
    for obj in objects:
        match = layout.match(obj.key)
        try:
            owner = uuid.UUID(match.group(1)) if match else None
        except ValueError:
            owner = None
        if owner is None:
            foreign.add(obj.key)
        else:
            by_owner.setdefault(owner, []).append(obj.key)
    return by_owner, foreign


def media_job_objects_referenced(db: Database, objects: list[StoredObject]) -> set[str]:
    """Keys under ``media/<job_id>/`` that the job row still refers to (all of them while it runs)."""
    by_job, referenced = _keys_by_owner(objects, _JOB_KEY)
    if not by_job:
        return referenced
    final = {status.value for status in FINAL_STATUSES}
    with db.session() as session:
        jobs = {job.id: job for job in session.scalars(select(MediaJob).where(MediaJob.id.in_(list(by_job))))}
    for job_id, keys in by_job.items():
        job = jobs.get(job_id)
        if job is None:
            continue
        if job.status not in final:
            referenced.update(keys)
            continue
        known = {job.source_key} | {out.get("key") for out in (job.outputs or {}).values() if out.get("key")}
        referenced.update(key for key in keys if key in known)
    return referenced


def profile_objects_referenced(db: Database, objects: list[StoredObject]) -> set[str]:
    """Keys under ``profiles/<submission_id>/``: kept while the submission runs, and while it is the
    wallet's latest published one (the profile shows its media; older ones were replaced)."""
    by_submission, referenced = _keys_by_owner(objects, _PROFILE_KEY)
    if not by_submission:
        return referenced
    with db.session() as session:
        rows = session.execute(select(Submission.id, Submission.wallet, Submission.status)
                               .where(Submission.id.in_(list(by_submission)))).all()
        wallets = {wallet for _, wallet, status in rows if status == "published"}
        latest = dict(session.execute(select(Submission.wallet, func.max(Submission.published_at))
                                      .where(Submission.wallet.in_(wallets), Submission.status == "published")
                                      .group_by(Submission.wallet)).all()) if wallets else {}
        kept = {submission_id for submission_id, _, status in rows if status in ("paid", "processing")}
        if latest:
            kept |= set(session.scalars(select(Submission.id).where(
                Submission.id.in_(list(by_submission)), Submission.status == "published",
                Submission.published_at.in_(list(latest.values())))))
    for submission_id, keys in by_submission.items():
        if submission_id in kept:
            referenced.update(keys)
    return referenced


_PROFILE_KEY = re.compile(r"^profiles/([0-9a-fA-F-]{36})/")


OBJECT_OWNERS: tuple[ObjectOwner, ...] = (
    ObjectOwner("media/", media_job_objects_referenced, "media jobs: source and outputs under media/<job_id>/"),
    ObjectOwner("profiles/", profile_objects_referenced,
                "wallet profiles: avatar and video outputs under profiles/<submission_id>/"),
)


MEDIA_OWNERS: tuple[ObjectOwner, ...] = (OBJECT_OWNERS[0],)
REPORT_TOTALS = ("objects_scanned", "objects_too_young", "orphans_found", "orphan_bytes", "objects_removed",
                 "bytes_removed")


def sweep_every_storage(db: Database, settings: Settings, platform: StorageProvider, *, min_age: timedelta,
                        now: datetime, dry_run: bool) -> dict[str, Any]:
    """Sweep the platform storage and every tenant storage; return the totals and one report per storage.

    Tenant storages only hold media jobs, so only that owner is looked at there. A storage
    that cannot be built or listed is reported in ``errors`` and the sweep goes on.
    """
    total: dict[str, Any] = {"dry_run": dry_run, "min_age_hours": min_age.total_seconds() / 3600,
                             **dict.fromkeys(REPORT_TOTALS, 0), "orphans": [], "errors": [], "storages": []}
    swept = [(platform.name, lambda: platform, OBJECT_OWNERS)]
    swept += [(name, build, MEDIA_OWNERS) for name, build in TenantStorages(settings, db).every_storage()]
    for name, build, owners in swept:
        try:
            report = sweep_orphans(db, build(), min_age=min_age, now=now, dry_run=dry_run, owners=owners)
        except Exception as exc:  # noqa: BLE001 - one unreachable tenant storage must not stop the sweep
            report = {"storage": name, "orphans": [], "errors": [f"{name}: {type(exc).__name__}: {exc}"[:300]]}
        total["storages"].append({key: value for key, value in report.items() if key not in ("dry_run",
                                                                                              "min_age_hours")})
        for key in REPORT_TOTALS:
            total[key] += report.get(key, 0)
        total["orphans"].extend(f"{name}:{key}" if name != platform.name else key for key in report["orphans"])
        total["errors"].extend(report["errors"])
    total["orphans"] = total["orphans"][:MAX_LISTED]
    total["errors"] = total["errors"][:MAX_ERRORS]
    return total


def sweep_orphans(db: Database, storage: StorageProvider, *, min_age: timedelta, now: datetime, dry_run: bool,
                  owners: tuple[ObjectOwner, ...] = OBJECT_OWNERS) -> dict[str, Any]:
    """Find (and unless ``dry_run``, delete) objects no row refers to; return the report."""
    report: dict[str, Any] = {"dry_run": dry_run, "min_age_hours": min_age.total_seconds() / 3600,
                              "storage": storage.name, "objects_scanned": 0, "objects_too_young": 0,
                              "orphans_found": 0, "orphan_bytes": 0, "objects_removed": 0, "bytes_removed": 0,
                              "orphans": [], "errors": []}
    cutoff = now - min_age
    for owner in owners:
        batch: list[StoredObject] = []
        for obj in storage.list(owner.prefix):
            report["objects_scanned"] += 1
            if obj.last_modified is None or obj.last_modified > cutoff:
                report["objects_too_young"] += 1
                continue
            batch.append(obj)
            if len(batch) >= BATCH:
                _sweep_batch(db, storage, owner, batch, dry_run, report)
                batch = []
        if batch:
            _sweep_batch(db, storage, owner, batch, dry_run, report)
    return report


def _sweep_batch(db: Database, storage: StorageProvider, owner: ObjectOwner, batch: list[StoredObject],
                 dry_run: bool, report: dict[str, Any]) -> None:
    referenced = owner.referenced(db, batch)
    for obj in batch:
        if obj.key in referenced:
            continue
        report["orphans_found"] += 1
        report["orphan_bytes"] += obj.size
        if len(report["orphans"]) < MAX_LISTED:
            report["orphans"].append(obj.key)
        if dry_run:
            continue
        try:
            storage.delete(obj.key)
        except Exception as exc:  # noqa: BLE001 - any provider error is recorded and the sweep goes on
            if len(report["errors"]) < MAX_ERRORS:
                report["errors"].append(f"{obj.key}: {type(exc).__name__}")
            continue
        report["objects_removed"] += 1
        report["bytes_removed"] += obj.size
