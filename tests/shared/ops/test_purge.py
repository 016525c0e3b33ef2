"""The temp purge: exactly what is older than the retention, never through links, never what is in use."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from shared.db import utcnow
from shared.ops.purge import purge_temp
from tests.support.ops import age, make_job, seed_temp, write

RETENTION = timedelta(hours=48)


def test_purge_removes_exactly_the_files_older_than_48_hours_and_never_follows_links(db, settings, tmp_path):
    temp_dir = Path(settings.TEMP_DIR)
    seeded = seed_temp(temp_dir, tmp_path / "outside")

    report = purge_temp(db, temp_dir, retention=RETENTION, now=utcnow())

    assert not any(p.exists() for p in seeded.old)
    assert all(p.exists() for p in seeded.young)
    assert seeded.outside_target.exists() and seeded.outside_dir_file.exists()
    assert all(link.is_symlink() for link in seeded.links)  # young links stay, as links
    assert not (temp_dir / "nested" / "deep").exists()  # old and empty after the purge
    assert (temp_dir / "incoming").is_dir()  # area folders stay
    assert report.files_removed == 3 and report.bytes_removed == 6000
    assert report.links_removed == 0 and report.dirs_removed == 1
    assert sorted(report.removed) == sorted(["old-report.bin", "nested/deep/old.bin",
                                             f"incoming/{seeded.old[2].name}"])
    assert report.errors == []


def test_an_old_link_is_removed_as_a_link_and_its_target_stays(db, settings, tmp_path):
    temp_dir = Path(settings.TEMP_DIR)
    target = write(tmp_path / "outside.bin", 10, 100)
    link = temp_dir / "old-link"
    temp_dir.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    age(link, 49)

    report = purge_temp(db, temp_dir, retention=RETENTION, now=utcnow())

    assert not link.is_symlink() and target.read_bytes() == b"x" * 10
    assert report.links_removed == 1 and report.files_removed == 0 and report.bytes_removed == 0


def test_old_files_of_a_job_still_processing_are_kept_and_those_of_a_finished_job_go(db, settings):
    temp_dir = Path(settings.TEMP_DIR)
    running, done = make_job(db, "processing"), make_job(db, "done")
    running_file = write(temp_dir / "jobs" / str(running) / "source.mp4", 100, 72)
    done_file = write(temp_dir / "jobs" / str(done) / "source.mp4", 100, 72)

    report = purge_temp(db, temp_dir, retention=RETENTION, now=utcnow())

    assert running_file.exists()
    assert not done_file.exists()
    assert report.entries_in_use == 1 and report.in_use == [f"jobs/{running}"]
    assert report.files_removed == 1


def test_a_dry_run_removes_nothing_and_reports_what_would_go(db, settings, tmp_path):
    temp_dir = Path(settings.TEMP_DIR)
    seeded = seed_temp(temp_dir, tmp_path / "outside")

    report = purge_temp(db, temp_dir, retention=RETENTION, now=utcnow(), dry_run=True)

    assert all(p.exists() for p in seeded.old + seeded.young)
    assert report.dry_run and report.files_removed == 3 and report.bytes_removed == 6000


def test_a_missing_temp_dir_is_nothing_to_purge(db, tmp_path):
    report = purge_temp(db, tmp_path / "absent", retention=RETENTION, now=utcnow())
    assert report.files_removed == 0 and report.errors == []
