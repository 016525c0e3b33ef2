"""Helpers for ops tests: a TEMP_DIR seeded with old and young files, media jobs in given states."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from shared.db import Database, utcnow
from shared.jobs.models import MediaJob
from shared.tenants.models import DEFAULT_TENANT_ID

HOUR = 3600


def age(path: Path, hours: float) -> Path:
    """Set the modification time of ``path`` (not of a link's target) ``hours`` in the past."""
    when = time.time() - hours * HOUR
    os.utime(path, (when, when), follow_symlinks=False)
    return path


def write(path: Path, size: int, hours: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return age(path, hours)


@dataclass
class SeededTemp:
    old: list[Path]          # 49 h: the purge removes these
    young: list[Path]        # 47 h: kept
    outside_target: Path     # an old file outside TEMP_DIR, reached by a link
    outside_dir_file: Path   # an old file in an old folder outside TEMP_DIR, reached by a folder link
    links: list[Path]

    @property
    def old_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.old)


def seed_temp(temp_dir: Path, outside: Path) -> SeededTemp:
    """TEMP_DIR with 49 h and 47 h files (loose, nested, in incoming/) and links to old files outside it."""
    old = [write(temp_dir / "old-report.bin", 1000, 49), write(temp_dir / "nested" / "deep" / "old.bin", 2000, 49),
           write(temp_dir / "incoming" / f"{uuid.uuid4().hex}.part", 3000, 49)]
    young = [write(temp_dir / "young.bin", 500, 47), write(temp_dir / "nested" / "young.bin", 700, 47),
             write(temp_dir / "incoming" / f"{uuid.uuid4().hex}.part", 900, 47)]
    target = write(outside / "precious.bin", 4000, 100)
    outside_dir_file = write(outside / "folder" / "precious.bin", 5000, 100)
    age(outside / "folder", 100)
    link = temp_dir / "link-to-precious"
    link.symlink_to(target)
    folder_link = temp_dir / "nested" / "link-to-folder"
    folder_link.symlink_to(outside / "folder", target_is_directory=True)
    age(temp_dir / "nested" / "deep", 49)
    return SeededTemp(old, young, target, outside_dir_file, [link, folder_link])


def make_job(db: Database, status: str) -> uuid.UUID:
    job_id = uuid.uuid4()
    with db.session() as session:
        session.add(MediaJob(id=job_id, tenant_id=DEFAULT_TENANT_ID, kind="image",
                             source_key=f"media/{job_id}/source.png", file_name="a.png", content_type="image/png",
                             size=10, sha256=uuid.uuid4().hex * 2, preset="default", preset_version=1,
                             status=status, attempts=1, max_attempts=3, steps={}, outputs={}, source_info={},
                             created_at=utcnow(), updated_at=utcnow()))
    return job_id
