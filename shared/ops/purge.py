"""The temp purge: remove what is older than the retention under TEMP_DIR, safely.

TEMP_DIR is one host's scratch: each host's web and worker processes sweep their own
(:class:`ScratchSweeper`); the scheduled ``purge-temp`` run sweeps the scratch of the host
that runs it and the temporary prefix of the storage (:func:`purge_storage_temp`).

- Links are never followed: the walk opens every folder relative to its parent
  with ``O_NOFOLLOW``, so neither a symlink nor a folder swapped for one during
  the walk leads out of TEMP_DIR. A link older than the retention is removed as
  a link (its target is never touched); so are other non-folders.
- Entries of temp areas still in use (a running job's work folder, an upload
  waiting for payment; see :mod:`shared.ops.temp_areas`) are skipped whole.
- Age is the modification time (``lstat``): files being written stay young.
- Entries of finished owners (a final job's or submission's work folder) are
  removed whatever their age: scratch nothing uses again.
- A folder is removed when it was old and is empty after the purge; TEMP_DIR
  and the area folders themselves stay.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import logging
import os
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared import metrics
from shared.db import Database, get_database, utcnow
from shared.logs import configure_logging
from shared.ops.models import OpsRun, RunStatus
from shared.ops.temp_areas import TEMP_AREAS, TempArea
from shared.settings import Settings, get_settings
from shared.storage.base import StorageProvider, StoredObject
from shared.uploads import service as uploads

log = logging.getLogger(__name__)

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
        in_use, finished = _areas_in_use(db, root_fd, areas, report)
        walker = _Walker(report, (now - retention).timestamp(), {a.folder for a in areas}, in_use, dry_run,
                         finished)
        walker.walk(root_fd, ())
    finally:
        os.close(root_fd)
    return report


def _areas_in_use(db: Database, root_fd: int, areas: tuple[TempArea, ...],
                  report: PurgeReport) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per area: the entries in use (kept), and those of finished owners (removed whatever their age)."""
    in_use: dict[str, set[str]] = {}
    finished: dict[str, set[str]] = {}
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
            finished[area.folder] = area.finished(db, names) - in_use[area.folder] if area.finished else set()
        except Exception as exc:  # noqa: BLE001 - on any error the whole area is kept, never purged
            report.note_error(area.folder, exc)
            in_use[area.folder] = set(names)
            finished[area.folder] = set()
    return in_use, finished


class _Walker:
    def __init__(self, report: PurgeReport, cutoff: float, areas: set[str], in_use: dict[str, set[str]],
                 dry_run: bool, finished: dict[str, set[str]] | None = None):
        self.report = report
        self.cutoff = cutoff
        self.areas = areas
        self.in_use = in_use
        self.finished = finished or {}
        self.dry_run = dry_run

    def walk(self, dir_fd: int, relative: tuple[str, ...], *, everything: bool = False) -> bool:
        """Purge one open folder (with ``everything``, whatever its age); return True when nothing is left."""
        try:
            names = os.listdir(dir_fd)
        except OSError as exc:
            self.report.note_error("/".join(relative) or ".", exc)
            return False
        left = 0
        for name in sorted(names):
            if not self._entry(dir_fd, relative, name, everything):
                left += 1
        return left == 0

    def _entry(self, dir_fd: int, relative: tuple[str, ...], name: str, everything: bool = False) -> bool:
        """Purge one entry; return True when it is gone (or would be, in a dry run)."""
        path = "/".join((*relative, name))
        if len(relative) == 1 and relative[0] in self.areas:
            if name in self.in_use.get(relative[0], ()):
                self.report.entries_in_use += 1
                if len(self.report.in_use) < MAX_LISTED:
                    self.report.in_use.append(path)
                return False
            everything = everything or name in self.finished.get(relative[0], ())
        try:
            status = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return True
        except OSError as exc:
            self.report.note_error(path, exc)
            return False
        old = everything or status.st_mtime < self.cutoff
        if stat.S_ISDIR(status.st_mode):
            return self._folder(dir_fd, relative, name, path, old, everything)
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

    def _folder(self, dir_fd: int, relative: tuple[str, ...], name: str, path: str, old: bool,
                everything: bool = False) -> bool:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
        except OSError as exc:
            # Swapped for a link (ELOOP/ENOTDIR) or gone since the listing: leave it alone.
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                self.report.note_error(path, exc)
            return exc.errno == errno.ENOENT
        try:
            empty = self.walk(fd, (*relative, name), everything=everything)
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


# -- the temporary prefix in storage ------------------------------------------------------------

def _storage_temp_areas() -> tuple[tuple[str, Any], ...]:
    """Folders of the platform storage holding temporary objects, each with what says which of its
    entries (``tmp/uploads/<upload_id>/...`` -> ``"<upload_id>"``) are still claimed."""
    return ((uploads.STORAGE_FOLDER, uploads.uploads_in_use),)


def purge_storage_temp(db: Database, storage: StorageProvider, *, retention: timedelta, now: datetime,
                       dry_run: bool = False) -> dict[str, Any]:
    """Remove objects under the temporary prefix older than ``retention`` that nothing claims.

    An upload waiting for a submission, or taken by one still running, claims its objects
    however old they are; so does every entry while its claim cannot be read (an error keeps
    the whole area). Deleted and expired uploads claim nothing: their leftovers go.
    """
    report: dict[str, Any] = {"objects_removed": 0, "bytes_removed": 0, "objects_kept": 0, "entries_in_use": 0,
                              "removed": [], "errors": []}
    cutoff = now - retention
    for folder, in_use in _storage_temp_areas():
        try:
            by_entry: dict[str, list[StoredObject]] = {}
            for found in storage.list(folder):
                entry = found.key[len(folder) + 1:].split("/", 1)[0]
                by_entry.setdefault(entry, []).append(found)
            claimed = in_use(db, list(by_entry), now)
        except Exception as exc:  # noqa: BLE001 - storage or database down: nothing is removed
            report["errors"].append(f"{folder}: {type(exc).__name__}: {exc}"[:300])
            continue
        for entry, objects in sorted(by_entry.items()):
            if entry in claimed:
                report["entries_in_use"] += 1
                continue
            for found in objects:
                _purge_object(storage, found, cutoff, dry_run, report)
    return report


def _purge_object(storage: StorageProvider, found: StoredObject, cutoff: datetime, dry_run: bool,
                  report: dict[str, Any]) -> None:
    # Written before its row commits: a young object may belong to an upload in flight.
    if found.last_modified is None or found.last_modified > cutoff:
        report["objects_kept"] += 1
        return
    try:
        if not dry_run:
            storage.delete(found.key)
    except Exception as exc:  # noqa: BLE001 - any provider error is recorded and the purge goes on
        if len(report["errors"]) < MAX_ERRORS:
            report["errors"].append(f"{found.key}: {type(exc).__name__}")
        return
    report["objects_removed"] += 1
    report["bytes_removed"] += found.size
    if len(report["removed"]) < MAX_LISTED:
        report["removed"].append(found.key)


# -- each host's own scratch ----------------------------------------------------------------------

SWEEP_STAMP = ".scratch-sweep"
SWEEP_SCHEDULE = "purge-temp"
SWEEP_TRIGGER = "host"


def host_name(settings: Settings) -> str:
    """This host's name in ops runs: HOST_NAME, else the machine's."""
    return str(settings.HOST_NAME or socket.gethostname())[:90]


def sweep_host_scratch(db: Database, settings: Settings, *, now: datetime | None = None) -> Any:
    """Purge this host's TEMP_DIR and record it as a ``purge-temp`` run of trigger ``host``.

    The scheduler runs on one host only (leader lock), and a scheduled run lands on whichever
    host's light worker takes it: each host's processes sweep their own scratch with this.
    Returns the recorded run.
    """
    name = host_name(settings)
    started = now or utcnow()
    with db.session() as session:
        run = OpsRun(id=uuid.uuid4(), schedule=SWEEP_SCHEDULE, trigger=SWEEP_TRIGGER, status=RunStatus.RUNNING,
                     params={"dry_run": False}, requested_by=f"host:{name}", deliveries=1, created_at=started,
                     started_at=started)
        session.add(run)
    status, stats, error = RunStatus.SUCCEEDED, {}, None
    try:
        report = purge_temp(db, settings.TEMP_DIR, retention=timedelta(hours=settings.TEMP_RETENTION_HOURS),
                            now=started)
        stats = {"host": name, **report.as_dict()}
    except Exception as exc:  # any failure is recorded on the run; the next sweep tries again
        log.exception("the scratch sweep of host %s failed", name)
        status, stats, error = RunStatus.FAILED, {"host": name}, f"{type(exc).__name__}: {exc}"[:2000]
    with db.session() as session:
        run = session.get(OpsRun, run.id)
        run.status, run.stats, run.error, run.finished_at = status, stats, error, utcnow()
    metrics.record_ops_run(SWEEP_SCHEDULE, status, int(stats.get("bytes_removed", 0)))
    log.info("scratch sweep of host %s %s", name, status, extra={"report": {
        k: v for k, v in stats.items() if not isinstance(v, list)}})
    return run


class ScratchSweeper:
    """Sweeps this host's TEMP_DIR every SCRATCH_SWEEP_INTERVAL_SECONDS, from any of its processes.

    Every web and worker process of a host runs one; the first to take the lock on the stamp
    file (``TEMP_DIR/.scratch-sweep``, holding the time of the last sweep) when the interval
    has passed sweeps, the others see the stamp and wait for the next interval.
    """

    def __init__(self, settings: Settings, db_factory: Callable[[], Database] | None = None, *,
                 in_child: bool = False) -> None:
        self.settings = settings
        self.db_factory = db_factory
        # The web process sweeps in a child (``python -m shared.ops.purge sweep-host``): the walk,
        # the models and the run's transaction then never grow a web worker (SPEC 11: < 100 MB).
        self.in_child = in_child
        self.interval = float(settings.SCRATCH_SWEEP_INTERVAL_SECONDS)
        self.stamp = Path(settings.TEMP_DIR) / SWEEP_STAMP

    def due(self) -> bool:
        """Whether the interval has passed since this host's last sweep (by the stamp file)."""
        try:
            last = float(self.stamp.read_text().strip() or "-inf")
        except (OSError, ValueError):
            last = float("-inf")
        return time.time() - last >= self.interval

    def maybe_sweep(self) -> Any:
        """Sweep when the interval has passed since the host's last sweep; return the run or None."""
        self.stamp.parent.mkdir(parents=True, exist_ok=True)
        with open(self.stamp, "a+") as stamp:
            try:
                fcntl.flock(stamp, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # another process of this host sweeps right now
            if not self.due():
                return None
            run = sweep_host_scratch(self.db_factory(), self.settings)
            stamp.seek(0)
            stamp.truncate()
            stamp.write(repr(time.time()))
            return run

    def _sweep_once(self) -> None:
        if not self.in_child:
            self.maybe_sweep()
        elif self.due():
            subprocess.run([sys.executable, "-m", "shared.ops.purge", "sweep-host"], check=False, timeout=3600)

    def start(self, stop: threading.Event | None = None) -> threading.Thread | None:
        """Sweep in a daemon thread, checking every minute at most; None when the interval is 0."""
        if self.interval <= 0:
            return None
        stop = stop or threading.Event()
        thread = threading.Thread(target=self._loop, args=(stop,), name="scratch-sweeper", daemon=True)
        thread.start()
        return thread

    def _loop(self, stop: threading.Event) -> None:
        while True:
            try:
                self._sweep_once()
            except Exception:  # a failed sweep must not end the process; the next one retries
                log.exception("scratch sweep failed")
            if stop.wait(min(self.interval, 60.0)):
                return


def main(argv: list[str] | None = None) -> None:
    """``python -m shared.ops.purge sweep-host``: sweep this host's scratch now if it is due."""
    parser = argparse.ArgumentParser(prog="python -m shared.ops.purge")
    parser.add_argument("command", choices=["sweep-host"])
    parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings, process="scratch-sweep")
    ScratchSweeper(settings, lambda: get_database(settings)).maybe_sweep()


if __name__ == "__main__":
    main()
