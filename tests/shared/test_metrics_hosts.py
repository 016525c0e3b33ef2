"""Each worker host (container) keeps and serves its own metrics; two of them never write one file.

A "host" here is a process in its own PID and UTS namespace (``unshare``): PID 1 with its own host
name, exactly what two containers are. The old layout (one metrics folder shared by every
container, files named by PID) made both write ``counter_1.db``, and each overwrote the other's counts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.support.chain import free_port

ROOT = Path(__file__).resolve().parents[2]
TASKS = "thumbnail_task_execution_total"

# A worker host: records the tasks it is told to (one number per line on stdin), serving its folder
# on METRICS_PORT when set; answers each line with "done"; stops when stdin closes.
HOST_SCRIPT = """
import os, sys
assert os.getpid() == 1, os.getpid()
from shared.metrics import record_task, serve_process_metrics
from shared.settings import get_settings
serve_process_metrics(get_settings())
print("ready", flush=True)
for line in sys.stdin:
    for _ in range(int(line)):
        record_task("convert", "success", 0.1)
    print("done", flush=True)
"""


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    done = subprocess.run(["unshare", "--pid", "--fork", "--uts", "true"], capture_output=True, check=False)
    return done.returncode == 0


pytestmark = pytest.mark.skipif(not _namespaces_work(), reason="needs unshare (root) for PID and UTS namespaces")


class Host:
    """One worker host: PID 1 named ``name`` in a namespace of its own."""

    def __init__(self, name: str, metrics_dir: Path, port: int = 0) -> None:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "METRICS_PORT": str(port),
               "METRICS_HOST": "127.0.0.1"}
        command = f'hostname {name} && exec "$0" -c "$1"'
        self.process = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--uts", "--kill-child", "sh", "-c", command, sys.executable,
             HOST_SCRIPT], cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._answer() == "ready"

    def _answer(self) -> str:
        line = self.process.stdout.readline().strip()
        assert line, f"the host process ended (exit {self.process.poll()})"
        return line

    def record(self, tasks: int) -> None:
        self.process.stdin.write(f"{tasks}\n")
        self.process.stdin.flush()
        assert self._answer() == "done"

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=20)


def _served_tasks(port: int) -> float:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == TASKS and sample.labels == {"actor": "convert", "status": "success"}:
                return sample.value
    return 0.0


def _folder_tasks(folder: Path) -> float | None:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(folder))
    return registry.get_sample_value(TASKS, {"actor": "convert", "status": "success"})


def test_two_worker_hosts_record_task_counters_without_file_collisions(tmp_path):
    ports = {"host-b": free_port(), "host-c": free_port()}
    hosts = {name: Host(name, tmp_path / name, port) for name, port in ports.items()}
    try:
        hosts["host-b"].record(3)
        hosts["host-c"].record(5)

        served = {name: _served_tasks(port) for name, port in ports.items()}
    finally:
        for host in hosts.values():
            host.stop()

    assert served == {"host-b": 3.0, "host-c": 5.0}
    assert sorted(p.name for p in (tmp_path / "host-b").glob("counter_*.db")) == ["counter_host-b-1.db"]
    assert sorted(p.name for p in (tmp_path / "host-c").glob("counter_*.db")) == ["counter_host-c-1.db"]


def test_metrics_of_two_pid_1_hosts_sharing_a_folder_never_collide(tmp_path):
    shared = tmp_path / "metrics"
    first, second = Host("host-b", shared), Host("host-c", shared)
    try:
        first.record(3)
        second.record(5)
        first.record(1)  # with one file per PID, this write replaced the other host's 5
    finally:
        first.stop()
        second.stop()

    assert sorted(p.name for p in shared.glob("counter_*.db")) == ["counter_host-b-1.db", "counter_host-c-1.db"]
    assert _folder_tasks(shared) == 9.0
