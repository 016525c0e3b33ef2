"""HashingWriter: one copy on disk, SHA-256 on the way, limits, whether or not its helper thread runs."""

from __future__ import annotations

import errno
import hashlib
import os
import random

import pytest

from shared.errors import InsufficientStorage, PayloadTooLarge
from shared.files import HashingWriter


def chunks(data: bytes, rng: random.Random):
    at = 0
    while at < len(data):
        size = rng.choice([1, 100, 65536, 300_000, 2_000_000])
        yield data[at:at + size]
        at += size


@pytest.mark.parametrize("size", [0, 10, 5 * 1024 * 1024 + 7])
def test_the_file_and_its_hash_are_exactly_what_was_written(tmp_path, size):
    data = os.urandom(size)
    writer = HashingWriter(tmp_path, max_bytes=size)
    for chunk in chunks(data, random.Random(size)):
        writer.write(chunk)
    writer.seek(0)  # what werkzeug does when the part ends
    writer.close()
    assert writer.size == size and writer.sha256 == hashlib.sha256(data).hexdigest()
    assert writer.path.read_bytes() == data


def test_going_over_the_limit_while_the_helper_writes_leaves_nothing(tmp_path):
    writer = HashingWriter(tmp_path, max_bytes=3 * 1024 * 1024)
    writer.write(os.urandom(2 * 1024 * 1024))
    with pytest.raises(PayloadTooLarge):
        writer.write(os.urandom(2 * 1024 * 1024))
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_a_507_problem_not_a_crash(tmp_path, monkeypatch):
    writer = HashingWriter(tmp_path, max_bytes=10 * 1024 * 1024)

    def full(_view):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer, "_file", type("Full", (), {"write": staticmethod(full), "closed": False,
                                                            "close": lambda self=None: None})())
    writer.write(os.urandom(2 * 1024 * 1024))
    with pytest.raises(InsufficientStorage) as caught:
        writer.close()
    assert caught.value.code == "temp_storage_full"
    writer.discard()
    assert list(tmp_path.iterdir()) == []
