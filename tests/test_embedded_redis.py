"""The embedded Redis of `make run` answers only the processes of its run: loopback and a per-run password."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from shared.embedded import start_embedded_redis


@pytest.fixture
def embedded_redis(tmp_path: Path) -> Iterator[tuple[int, str]]:
    process, url = start_embedded_redis(tmp_path)
    try:
        yield process.pid, url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def ask(port: int, command: bytes) -> bytes:
    """What the server answers a client that sends ``command`` first (no redis-py: it retries refusals)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(command)
        return sock.recv(200)


def test_embedded_redis_password_another_local_user_without_it_is_refused(embedded_redis):
    _pid, url = embedded_redis
    parts = urlsplit(url)

    assert ask(parts.port, b"PING\r\n").startswith(b"-NOAUTH")
    assert ask(parts.port, b"AUTH guess\r\n").startswith(b"-WRONGPASS")
    assert ask(parts.port, b"EVAL \"return 1\" 0\r\n").startswith(b"-NOAUTH")  # no Lua for strangers
    assert redis.Redis.from_url(url, socket_timeout=2).ping() is True
    assert parts.hostname == "127.0.0.1"


def test_embedded_redis_password_is_random_per_run_and_not_on_the_command_line(tmp_path, embedded_redis):
    pid, url = embedded_redis
    password = urlsplit(url).password
    assert password and len(password) >= 32

    # /proc/<pid>/cmdline is readable by every local user (`ps`): the password must not be there.
    assert password.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    process, other = start_embedded_redis(tmp_path / "second")
    try:
        assert urlsplit(other).password != password
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def test_embedded_redis_password_is_not_in_the_printed_url(embedded_redis):
    from shared.embedded import redacted_url

    _pid, url = embedded_redis
    printed = redacted_url(url)

    assert urlsplit(url).password not in printed
    assert printed.startswith("redis://:***@127.0.0.1:")
    assert redacted_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
