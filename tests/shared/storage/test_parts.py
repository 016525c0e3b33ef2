"""Objects written in parts (resumable uploads): each PATCH appends a part on any host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.storage.base import MIN_PART_BYTES
from tests.shared.storage.conftest import Backend

MIB = 1024 * 1024


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture
def parts_storage(backend: Backend):
    if backend.kind == "yandex_disk":
        pytest.skip("Yandex Disk keeps no partial objects; uploads use the platform storage")
    return backend.storage("tenants/t1")


def test_parts_appended_and_a_retried_part_replaces_the_failed_attempt(parts_storage, tmp_path: Path) -> None:
    first, second, last = os.urandom(MIN_PART_BYTES + 1), os.urandom(MIN_PART_BYTES + 3), b"tail"
    handle = parts_storage.begin_parts("tmp/uploads/a/source", "video/mp4")
    parts = parts_storage.put_part("tmp/uploads/a/source", handle, [], _file(tmp_path / "1", first), 0)
    # A part written whose offset never reached the database is written again: the new one wins.
    parts_storage.put_part("tmp/uploads/a/source", handle, parts, _file(tmp_path / "x", os.urandom(MIN_PART_BYTES)),
                           len(first))
    parts = parts_storage.put_part("tmp/uploads/a/source", handle, parts, _file(tmp_path / "2", second), len(first))
    parts = parts_storage.put_part("tmp/uploads/a/source", handle, parts, _file(tmp_path / "3", last),
                                   len(first) + len(second))
    parts_storage.complete_parts("tmp/uploads/a/source", handle, parts)
    with parts_storage.open("tmp/uploads/a/source") as stream:
        assert stream.read() == first + second + last
    assert parts_storage.stat("tmp/uploads/a/source").size == len(first + second + last)


def test_aborted_parts_leave_nothing(parts_storage, tmp_path: Path) -> None:
    handle = parts_storage.begin_parts("tmp/uploads/b/source")
    parts_storage.put_part("tmp/uploads/b/source", handle, [], _file(tmp_path / "1", os.urandom(MIN_PART_BYTES)), 0)
    parts_storage.abort_parts("tmp/uploads/b/source", handle)
    parts_storage.abort_parts("tmp/uploads/b/source", handle)  # idempotent
    assert list(parts_storage.list("tmp/uploads/")) == []
