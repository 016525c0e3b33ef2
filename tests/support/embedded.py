"""What `make run` starts (``python -m shared.embedded``), in a temporary DATA_DIR on free ports.

Used by the tests that drive the whole system from outside: over HTTP as a new user would,
and from a real browser.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.chain import free_port

ROOT = Path(__file__).resolve().parents[2]
# Settings the test run fixes for its own database and Redis: `make run` must pick its own.
RUN_OWN = {"DATABASE_URL", "REDIS_URL", "TEMP_DIR", "LOCAL_STORAGE_DIR", "SECRET_KEY", "APP_ENV",
           "STORAGE_PROVIDER", "RETRY_MIN_BACKOFF_MS", "RETRY_MAX_BACKOFF_MS", "ETH_RPC_URL"}


@dataclass(frozen=True)
class System:
    base: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@contextmanager
def embedded_system(folder: Path, *, ready_timeout: float = 60, **settings: str) -> Iterator[System]:
    """Start the embedded system with ``settings`` on top of the test environment; stop it with
    SIGINT (as Ctrl-C does) on exit, and SIGKILL what does not stop."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in RUN_OWN}
    env.update(DATA_DIR=str(folder / "data"), PORT=str(port), DEV_CHAIN_PORT=str(free_port()),
               WEB_CONCURRENCY="1", **settings)
    log = folder / "make-run.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "shared.embedded"], cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        system = System(base=f"http://127.0.0.1:{port}", env=env, log=log, process=process)
        try:
            wait_until_ready(system, timeout=ready_timeout)
            yield system
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def wait_until_ready(system: System, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert system.process.poll() is None, f"make run exited:\n{system.log_tail()}"
        try:
            if requests.get(f"{system.base}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"make run did not become ready:\n{system.log_tail()}")
