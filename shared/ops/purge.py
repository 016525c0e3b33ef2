"""The temp purge: remove what is older than the retention under TEMP_DIR, safely.

- Links are never followed: the walk opens every folder relative to its parent
  with ``O_NOFOLLOW``, so neither a symlink nor a folder swapped for one during
  the walk leads out of TEMP_DIR. A link older than the retention is removed as
  a link (its target is never touched); so are other non-folders.
- Entries of temp areas still in use (a running job's work folder, an upload
  waiting for payment; see :mod:`shared.ops.temp_areas`) are skipped whole.
- Age is the modification time (``lstat``): files being written stay young.
- A folder is removed when it was old and is empty after the purge; TEMP_DIR
  and the area folders themselves stay.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.db import Database
from shared.ops.temp_areas import TEMP_AREAS, TempArea

MAX_LISTED = 100
MAX_ERRORS = 50


@dataclass
class PurgeReport:
    dry_run: bool = False
    retention_hours: float = 0.0
    files_removed: int = 0
    bytes_removed: int = 0
    links_removed: int = 0
    dirs_removed: int = 0
    files_kept: int = 0
    entries_in_use: int = 0
    removed: list[str] = field(default_factory=list)
    in_use: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}

    def note_removed(self, path: str) -> None:
        if len(self.removed) < MAX_LISTED:
            self.removed.append(path)

    def note_error(self, path: str, exc: BaseException) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(f"{path}: {type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}")


def purge_temp(db: Database, temp_dir: str | Path, *, retention: timedelta, now: datetime, dry_run: bool = False,
               areas: tuple[TempArea, ...] = TEMP_AREAS) -> PurgeReport:
    """Remove files under ``temp_dir`` older than ``retention``; return what was (or would be) removed."""
    report = PurgeReport(dry_run=dry_run, retention_hours=retention.total_seconds() / 3600)
    root = Path(temp_dir)
    try:
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return report
    try:
        in_use = _areas_in_use(db, root_fd, areas, report)
        walker = _Walker(report, (now - retention).timestamp(), {a.folder for a in areas}, in_use, dry_run)
        walker.walk(root_fd, ())
    finally:
        os.close(root_fd)
    return report


def _areas_in_use(db: Database, root_fd: int, areas: tuple[TempArea, ...],
                  report: PurgeReport) -> dict[str, set[str]]:
    in_use: dict[str, set[str]] = {}
    for area in areas:
        try:
            fd = os.open(area.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=root_fd)
        except OSError:
            in_use[area.folder] = set()
            continue
        try:
            names = os.listdir(fd)
        finally:
            os.close(fd)
        # An error here must not purge what might be in use: the whole area is kept.
        try:
            in_use[area.folder] = area.in_use(db, names)
        except Exception as exc:  # noqa: BLE001 - on any error the whole area is kept, never purged
            report.note_error(area.folder, exc)
            in_use[area.folder] = set(names)
    return in_use


class _Walker:
    def __init__(self, report: PurgeReport, cutoff: float, areas: set[str], in_use: dict[str, set[str]],
                 dry_run: bool):
        self.report = report
        self.cutoff = cutoff
        self.areas = areas
        self.in_use = in_use
        self.dry_run = dry_run

    def walk(self, dir_fd: int, relative: tuple[str, ...]) -> bool:
        """Purge one open folder; return True when nothing is left in it."""
        try:
            names = os.listdir(dir_fd)
        except OSError as exc:
            self.report.note_error("/".join(relative) or ".", exc)
            return False
        left = 0
        for name in sorted(names):
            if not self._entry(dir_fd, relative, name):
                left += 1
        return left == 0

    def _entry(self, dir_fd: int, relative: tuple[str, ...], name: str) -> bool:
        """Purge one entry; return True when it is gone (or would be, in a dry run)."""
        path = "/".join((*relative, name))
        if len(relative) == 1 and relative[0] in self.areas and name in self.in_use.get(relative[0], ()):
            self.report.entries_in_use += 1
            if len(self.report.in_use) < MAX_LISTED:
                self.report.in_use.append(path)
            return False
        try:
            status = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return True
        except OSError as exc:
            self.report.note_error(path, exc)
            return False
        old = status.st_mtime < self.cutoff
        if stat.S_ISDIR(status.st_mode):
            return self._folder(dir_fd, relative, name, path, old)
        if not old:
            self.report.files_kept += 1
            return False
        try:
            if not self.dry_run:
                os.unlink(name, dir_fd=dir_fd)
        except FileNotFoundError:
            return True
        except OSError as exc:
            self.report.note_error(path, exc)
            return False
        if stat.S_ISLNK(status.st_mode):
            self.report.links_removed += 1
        else:
            self.report.files_removed += 1
            self.report.bytes_removed += status.st_size
        self.report.note_removed(path)
        return True

    def _folder(self, dir_fd: int, relative: tuple[str, ...], name: str, path: str, old: bool) -> bool:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
        except OSError as exc:
            # Swapped for a link (ELOOP/ENOTDIR) or gone since the listing: leave it alone.
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                self.report.note_error(path, exc)
            return exc.errno == errno.ENOENT
        try:
            empty = self.walk(fd, (*relative, name))
        finally:
            os.close(fd)
        protected = not relative and name in self.areas
        if not (empty and old) or protected:
            return False
        try:
            if not self.dry_run:
                os.rmdir(name, dir_fd=dir_fd)
        except FileNotFoundError:
            return True
        except OSError as exc:
            # Something was written into it meanwhile: it stays.
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                self.report.note_error(path, exc)
            return False
        self.report.dirs_removed += 1
        return True
