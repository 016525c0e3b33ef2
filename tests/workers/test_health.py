"""Relay, dispatcher, workers and scheduler write a heartbeat that ``python -m workers health`` reads.

The container health checks of compose.yaml run exactly that probe.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from shared.heartbeat import BeatingStop, Heartbeat, probe
from workers.__main__ import _threads_alive

ROOT = Path(__file__).resolve().parents[2]

PROCESSES = {
    "relay": ["-m", "workers", "relay"],
    "dispatcher": ["-m", "workers", "dispatcher"],
    "worker-light": ["-m", "workers", "worker", "light"],
    "scheduler": ["-m", "scheduler"],
}


def _health(env: dict[str, str], process: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workers", "health", process], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def _wait_for(env: dict[str, str], process: str, healthy: bool, running: subprocess.Popen,
              timeout: float = 30) -> subprocess.CompletedProcess:
    deadline = time.monotonic() + timeout
    while True:
        done = _health(env, process)
        if (done.returncode == 0) == healthy or time.monotonic() > deadline or running.poll() is not None:
            return done
        time.sleep(0.3)


@pytest.mark.parametrize("process", list(PROCESSES))
def test_health_probe_follows_the_heartbeat_of_each_long_running_process(process, database, tmp_path):
    env = {**os.environ, "HEARTBEAT_DIR": str(tmp_path / "run"), "HEARTBEAT_INTERVAL_SECONDS": "0.2",
           "HEARTBEAT_MAX_AGE_SECONDS": "2", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
           "SCHEDULER_TICK_SECONDS": "0.2"}
    assert _health(env, process).returncode == 1  # nothing ran yet

    running = subprocess.Popen([sys.executable, *PROCESSES[process]], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        up = _wait_for(env, process, True, running)
        assert up.returncode == 0, (up.stdout, running.stderr.read() if running.poll() is not None else "")
        assert up.stdout.startswith(f"{process}: ok")

        running.send_signal(signal.SIGSTOP)  # a stuck process stops beating
        stuck = _wait_for(env, process, False, running, timeout=10)
        assert stuck.returncode == 1 and "unhealthy: last heartbeat" in stuck.stdout
        running.send_signal(signal.SIGCONT)
        assert _wait_for(env, process, True, running).returncode == 0
    finally:
        running.send_signal(signal.SIGCONT)
        running.terminate()
        running.wait(timeout=60)

    assert running.returncode == 0
    gone = _health(env, process)
    assert gone.returncode == 1 and "no heartbeat" in gone.stdout  # a clean stop removes its file


def test_health_heartbeat_beats_each_time_a_loop_asks_whether_to_stop(settings, tmp_path):
    heartbeat = Heartbeat(settings.replace(HEARTBEAT_DIR=str(tmp_path), HEARTBEAT_INTERVAL_SECONDS=0.0), "relay")
    stop = BeatingStop(heartbeat)

    assert not stop.is_set()
    first = probe(settings.replace(HEARTBEAT_DIR=str(tmp_path)), "relay")
    stop.set()

    assert stop.is_set() and first[0] is True
    assert probe(settings.replace(HEARTBEAT_DIR=str(tmp_path), HEARTBEAT_MAX_AGE_SECONDS=5.0), "relay",
                 now=time.time() + 10)[0] is False


def test_health_worker_beats_only_while_all_its_threads_live():
    alive, dead = SimpleNamespace(is_alive=lambda: True), SimpleNamespace(is_alive=lambda: False)

    assert _threads_alive(SimpleNamespace(consumers={"light": alive}, workers=[alive, alive]))
    assert not _threads_alive(SimpleNamespace(consumers={"light": alive}, workers=[alive, dead]))
    assert not _threads_alive(SimpleNamespace(consumers={}, workers=[]))
