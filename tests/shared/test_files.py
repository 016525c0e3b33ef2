"""HashingWriter: one copy on disk, SHA-256 on the way, limits, whether or not its helper thread runs."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import random
import socket
import threading

import pytest

from shared import files
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


def socket_sending(data: bytes):
    """A connected socket whose peer sends ``data`` from a thread, then closes."""
    ours, theirs = socket.socketpair()

    def send():
        # The reader may be done (and closed) before this thread runs: then there is nobody to send to.
        with theirs, contextlib.suppress(BrokenPipeError, ConnectionResetError):
            theirs.sendall(data)

    threading.Thread(target=send, daemon=True).start()
    return ours


def direct_io_works(folder) -> bool:
    """Whether the file system under ``folder`` takes O_DIRECT (tmpfs before Linux 6.6 does not)."""
    if not hasattr(os, "O_DIRECT"):
        return False
    try:
        os.close(os.open(folder / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT))
    except OSError:
        return False
    finally:
        (folder / "probe").unlink(missing_ok=True)
    return True


@pytest.mark.parametrize("size", [1, 1024 * 1024 - 1000, 9 * 1024 * 1024 + 12345])
def test_received_bytes_after_written_ones_are_stored_and_hashed_in_order(tmp_path, size):
    head, rest = os.urandom(1000), os.urandom(size)
    writer = HashingWriter(tmp_path, max_bytes=size + 1000)
    writer.write(head)
    with socket_sending(rest) as sock:
        writer.receive_from(sock, size)
    writer.close()
    assert writer.size == size + 1000 and writer.sha256 == hashlib.sha256(head + rest).hexdigest()
    assert writer.path.read_bytes() == head + rest


def test_a_body_whose_head_is_all_of_it_is_stored_whole(tmp_path):
    writer = HashingWriter(tmp_path, max_bytes=100)
    writer.write(b"all of it")
    with socket_sending(b"") as sock:
        writer.receive_from(sock, 0)
    writer.close()
    assert writer.path.read_bytes() == b"all of it" and writer.sha256 == hashlib.sha256(b"all of it").hexdigest()


def test_whole_buffers_are_written_around_the_page_cache_and_the_last_piece_through_it(tmp_path, monkeypatch):
    if not direct_io_works(tmp_path):
        pytest.skip("this file system refuses O_DIRECT: the fallback is tested below")
    writes = []
    real_write = os.write
    head, rest = b"h" * 100, os.urandom(3 * 1024 * 1024)
    writer = HashingWriter(tmp_path, max_bytes=len(head) + len(rest))
    ours = writer._file.fileno()

    def write(descriptor, data):
        if descriptor == ours:
            writes.append((len(data), bool(fcntl.fcntl(descriptor, fcntl.F_GETFL) & os.O_DIRECT)))
        return real_write(descriptor, data)

    monkeypatch.setattr(files.os, "write", write)
    writer.write(head)
    with socket_sending(rest) as sock:
        writer.receive_from(sock, len(rest))
    writer.close()
    assert writer.path.read_bytes() == head + rest
    assert writes == [(1024 * 1024, True)] * 3 + [(100, False)]


@pytest.mark.parametrize("refuse", ["opening", "writing"])
def test_a_file_system_that_refuses_o_direct_gets_the_same_bytes_through_the_page_cache(tmp_path, monkeypatch,
                                                                                          refuse):
    real_fcntl, real_write = fcntl.fcntl, os.write

    def no_direct_flag(descriptor, command, *args):
        if command == fcntl.F_SETFL and args[0] & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_fcntl(descriptor, command, *args)

    def no_direct_write(descriptor, data):
        if real_fcntl(descriptor, fcntl.F_GETFL) & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(descriptor, data)

    if refuse == "opening":
        monkeypatch.setattr(files.fcntl, "fcntl", no_direct_flag)
    else:
        monkeypatch.setattr(files.os, "write", no_direct_write)
    data = os.urandom(2 * 1024 * 1024 + 5)
    writer = HashingWriter(tmp_path, max_bytes=len(data))
    with socket_sending(data) as sock:
        writer.receive_from(sock, len(data))
    writer.close()
    assert writer.path.read_bytes() == data and writer.sha256 == hashlib.sha256(data).hexdigest()


def test_a_full_disk_while_receiving_is_a_507_problem_not_a_hang(tmp_path, monkeypatch):
    writer = HashingWriter(tmp_path, max_bytes=10**8)
    ours, real_write = writer._file.fileno(), os.write

    def full(descriptor, data):
        if descriptor == ours:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(descriptor, data)

    monkeypatch.setattr(files.os, "write", full)
    with socket_sending(os.urandom(6 * 1024 * 1024)) as sock, pytest.raises(InsufficientStorage) as caught:
        writer.receive_from(sock, 6 * 1024 * 1024)
    assert caught.value.code == "temp_storage_full"
    writer.discard()
    assert list(tmp_path.iterdir()) == []


def test_a_body_announced_over_the_limit_is_refused_before_it_is_read(tmp_path):
    writer = HashingWriter(tmp_path, max_bytes=1000)
    with socket_sending(b"x" * 10) as sock, pytest.raises(PayloadTooLarge):
        writer.receive_from(sock, 1001)
    assert list(tmp_path.iterdir()) == []


def test_a_peer_that_stops_early_or_stalls_is_an_error_not_a_hang(tmp_path):
    writer = HashingWriter(tmp_path, max_bytes=10**6)
    with socket_sending(b"x" * 5000) as sock, pytest.raises(EOFError):
        writer.receive_from(sock, 10_000)
    writer.discard()
    stalled, _peer = socket.socketpair()
    with stalled, _peer:
        stalled.settimeout(0.2)
        writer = HashingWriter(tmp_path, max_bytes=10**6)
        with pytest.raises(TimeoutError):
            writer.receive_from(stalled, 10)
        writer.discard()
    assert list(tmp_path.iterdir()) == []
