"""HashingWriter: one copy on disk, SHA-256 on the way, limits, whether or not its helper thread runs."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import random
import socket
import threading

import pytest

from shared.errors import InsufficientStorage, PayloadTooLarge
from shared.files import HashingWriter, can_splice


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


def socket_sending(data: bytes):
    """A connected socket whose peer sends ``data`` from a thread, then closes."""
    ours, theirs = socket.socketpair()

    def send():
        # The reader may be done (and closed) before this thread runs: then there is nobody to send to.
        with theirs, contextlib.suppress(BrokenPipeError, ConnectionResetError):
            theirs.sendall(data)

    threading.Thread(target=send, daemon=True).start()
    return ours


@pytest.mark.skipif(not can_splice(), reason="splice(2) is Linux-only")
@pytest.mark.parametrize("size", [1, 1024 * 1024, 9 * 1024 * 1024 + 12345])
def test_spliced_bytes_after_written_ones_are_stored_and_hashed_in_order(tmp_path, size):
    head, rest = os.urandom(1000), os.urandom(size)
    writer = HashingWriter(tmp_path, max_bytes=size + 1000)
    writer.write(head)
    with socket_sending(rest) as sock:
        writer.splice_from(sock.fileno(), size)
    writer.close()
    assert writer.size == size + 1000 and writer.sha256 == hashlib.sha256(head + rest).hexdigest()
    assert writer.path.read_bytes() == head + rest


@pytest.mark.skipif(not can_splice(), reason="splice(2) is Linux-only")
def test_a_body_announced_over_the_limit_is_refused_before_it_is_read(tmp_path):
    writer = HashingWriter(tmp_path, max_bytes=1000)
    with socket_sending(b"x" * 10) as sock, pytest.raises(PayloadTooLarge):
        writer.splice_from(sock.fileno(), 1001)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not can_splice(), reason="splice(2) is Linux-only")
def test_a_peer_that_stops_early_or_stalls_is_an_error_not_a_hang(tmp_path):
    writer = HashingWriter(tmp_path, max_bytes=10**6)
    with socket_sending(b"x" * 5000) as sock, pytest.raises(EOFError):
        writer.splice_from(sock.fileno(), 10_000)
    writer.discard()
    stalled, _peer = socket.socketpair()
    with stalled, _peer:
        stalled.settimeout(0.2)
        writer = HashingWriter(tmp_path, max_bytes=10**6)
        with pytest.raises(TimeoutError):
            writer.splice_from(stalled.fileno(), 10, timeout=0.2)
        writer.discard()
    assert list(tmp_path.iterdir()) == []
