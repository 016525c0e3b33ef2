"""The production shape, proven (issue 12 item 5): three hosts that share only PostgreSQL, Redis and S3.

- host A runs web, relay, dispatcher and scheduler; hosts B and C run the worker pools;
- every process is started with ``APP_ENV=production`` and its command from the Procfile (read with
  honcho's parser, run by ``sh -c`` as honcho and compose do); each host has its own TEMP_DIR,
  metrics and heartbeat folders and shares no directory with another;
- each host is a network namespace (``ip netns``) joined to this one by a veth pair. The machine's
  PostgreSQL and Redis, moto's S3 server and anvil listen on 127.0.0.1 here, which a namespace
  cannot reach, so each is forwarded by a TCP proxy bound to the root side of the host's veth
  pair. Where namespaces are refused, the hosts are process groups with their own folders on
  loopback instead (or with SHOWREEL_TEST_MULTI_HOST=process-groups); the test prints which ran (and records it as the ``hosts`` property).

What it runs: an image job and a video job through the media API (with a tenant's key made by
the operator CLI); a SIGKILL of host B's video worker in the middle of a convert, after which
host C finishes the job, exactly once; the whole paid profile flow on anvil with the profile's
links fetched over plain HTTP from here (outside the namespaces: the links name S3_PUBLIC_URL);
both worker hosts' task counters on their /metrics ports; each host's 48 h scratch sweep in
/api/ops/runs/; and, at the end, no file left in any host's scratch and no object of finished
work under tmp/ in storage.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest
import requests
from honcho.environ import parse_procfile
from moto.server import ThreadedMotoServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, func, select, text

from shared.events.models import OutboxEvent
from shared.payments.devchain import ACCOUNTS, RECEIVER
from shared.payments.devwallet import login
from shared.storage.providers.s3 import S3Storage
from tests.support.chain import Anvil, free_port, pay
from tests.support.db import create_database, drop_database
from tests.support.media import h264_mp4, png_bytes
from tests.support.ops import age
from tests.support.tcpproxy import TcpProxy

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PROCESSES = parse_procfile((ROOT / "Procfile").read_text()).processes
HOSTS = {"a": ("web", "relay", "dispatcher", "scheduler"),
         "b": ("worker-video", "worker-media", "worker-light"),
         "c": ("worker-video", "worker-media", "worker-light")}
OPS_TOKEN = "ops-" + "7" * 40
BUCKET = "showreel-multi-host"
WEB_PORT = 8000
TASKS = "thumbnail_task_execution_total"
(WALLET, KEY) = ACCOUNTS[0]


def namespaces_work() -> bool:
    # SHOWREEL_TEST_MULTI_HOST=process-groups runs the fallback on purpose (to check it still works).
    if os.environ.get("SHOWREEL_TEST_MULTI_HOST") == "process-groups":
        return False
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"srprobe{os.getpid() % 100000}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, check=False)
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return made.returncode == 0


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@dataclass
class Host:
    name: str                    # a, b, c
    root: Path                   # its folders: tmp/ (scratch), metrics/, run/, logs/
    address: str                 # where its processes listen (the namespace's veth address, or 127.0.0.1)
    gateway: str                 # where it reaches PostgreSQL, Redis, S3 and the chain
    namespace: str | None = None
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    metrics_ports: dict[str, int] = field(default_factory=dict)

    @property
    def host_name(self) -> str:
        return f"host-{self.name}"

    @property
    def scratch(self) -> Path:
        return self.root / "tmp"

    def command(self, line: str, *, replace_shell: bool = True) -> list[str]:
        # exec: the process started is the Procfile's process itself (its pid is the one to kill).
        shell = ["sh", "-c", f"exec {line}" if replace_shell else line]
        return ["ip", "netns", "exec", self.namespace, *shell] if self.namespace else shell


class Cluster:
    """Three hosts, the proxies that join them to the shared services, and their processes."""

    def __init__(self, workdir: Path, services: dict[str, tuple[str, int]], database: str, redis_db: int):
        self.workdir = workdir
        self.services = services
        self.database = database
        self.redis_db = redis_db
        self.tag = f"sr{os.getpid() % 100000}"
        self.mode = "network namespaces" if namespaces_work() else "process groups (no network namespaces)"
        self.proxies: list[TcpProxy] = []
        self.hosts: dict[str, Host] = {}
        subnet = 100 + os.getpid() % 100
        for index, name in enumerate(HOSTS, start=1):
            if self.mode == "network namespaces":
                host = Host(name, workdir / f"host-{name}", f"10.{subnet}.{index}.2", f"10.{subnet}.{index}.1",
                            namespace=f"{self.tag}{name}")
                self._join(host)
            else:
                host = Host(name, workdir / f"host-{name}", "127.0.0.1", "127.0.0.1")
            self.hosts[name] = host
        self.ports = {name: self._forward(host) for name, host in self.hosts.items()}

    def _join(self, host: Host) -> None:
        outside, inside = f"{host.namespace}0", f"{host.namespace}1"
        _ip("netns", "add", host.namespace)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", host.namespace)
        _ip("addr", "add", f"{host.gateway}/24", "dev", outside)
        _ip("link", "set", outside, "up")
        for args in (("addr", "add", f"{host.address}/24", "dev", inside), ("link", "set", inside, "up"),
                     ("link", "set", "lo", "up")):
            _ip("netns", "exec", host.namespace, "ip", *args)

    def _forward(self, host: Host) -> dict[str, int]:
        """Ports on the host's gateway that reach each shared service."""
        if host.namespace is None:
            return {name: port for name, (_, port) in self.services.items()}
        ports = {}
        for name, (target, port) in self.services.items():
            proxy = TcpProxy(target, port, bind=host.gateway, keep_idle=True)
            proxy.start()
            self.proxies.append(proxy)
            ports[name] = proxy.port
        return ports

    def web_url(self) -> str:
        return f"http://{self.hosts['a'].address}:{self.web_port}"

    def env(self, host: Host, process: str) -> dict[str, str]:
        ports = self.ports[host.name]
        gateway = host.gateway
        env = {key: os.environ[key] for key in ("HOME", "LANG", "LC_ALL", "TZ") if key in os.environ}
        env.update({
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PYTHONUNBUFFERED": "1",
            "APP_ENV": "production",
            "HOST_NAME": host.host_name,
            "DATA_DIR": str(host.root / "data"),
            "TEMP_DIR": str(host.scratch),
            "PROMETHEUS_MULTIPROC_DIR": str(host.root / "metrics"),
            "HEARTBEAT_DIR": str(host.root / "run"),
            "DATABASE_URL": f"postgresql://postgres@{gateway}:{ports['postgres']}/{self.database}",
            "REDIS_URL": f"redis://{gateway}:{ports['redis']}/{self.redis_db}",
            "STORAGE_PROVIDER": "s3",
            "S3_ENDPOINT": f"{gateway}:{ports['s3']}",
            "S3_ACCESS_KEY": "testing",
            "S3_SECRET_KEY": "testing",
            "S3_BUCKET": BUCKET,
            # What browsers reach: moto's own address here, outside every namespace.
            "S3_PUBLIC_URL": f"http://127.0.0.1:{self.services['s3'][1]}",
            "SECRET_KEY": "multi-host-secret-key-0123456789abcdef",
            "PUBLIC_BASE_URL": self.web_url(),
            "OPS_TOKEN": OPS_TOKEN,
            "ETH_RPC_URL": f"http://{gateway}:{ports['chain']}",
            "PAYMENT_RECEIVER": RECEIVER,
            "PAYMENT_CHAIN_ID": "31337",
            "PAYMENT_ALLOW_DEV_CHAIN": "true",
            "PAYMENT_CONFIRMATIONS": "1",
            "PAYMENT_RECHECK_SECONDS": "0.5",
            "PAYMENT_RECHECK_MAX_SECONDS": "2",
            "HOST": host.address,
            "PORT": str(self.web_port),
            "WEB_CONCURRENCY": "1",
            "WORKER_THREADS_VIDEO": "1",
            "WORKER_THREADS_MEDIA": "2",
            "WORKER_THREADS_LIGHT": "2",
            "FFMPEG_THREADS": "1",
            # A killed worker's message goes back to the queue after 3 s (the crash test's tuning).
            "BROKER_HEARTBEAT_TIMEOUT_MS": "3000",
            "RETRY_MIN_BACKOFF_MS": "200",
            "RETRY_MAX_BACKOFF_MS": "2000",
            "SCRATCH_SWEEP_INTERVAL_SECONDS": "5",
            "LOG_FORMAT": "console",
        })
        if process.startswith("worker-"):
            env["METRICS_HOST"] = host.address
            env["METRICS_PORT"] = str(host.metrics_ports[process])
        return env

    def run(self, host: Host, line: str, *, timeout: float = 120) -> str:
        """Run a one-off command of the operator on ``host``; return its output."""
        done = subprocess.run(host.command(line, replace_shell=False), cwd=ROOT, env=self.env(host, "cli"), capture_output=True,
                              text=True, timeout=timeout, check=False)
        assert done.returncode == 0, f"{line} on {host.host_name}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, host: Host, process: str) -> subprocess.Popen:
        if process.startswith("worker-"):
            host.metrics_ports.setdefault(process, free_port())
        logs = host.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / f"{process}.log", "ab") as log:
            started = subprocess.Popen(host.command(PROCESSES[process]), cwd=ROOT, env=self.env(host, process),
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        host.processes[process] = started
        return started

    def stop(self) -> None:
        for host in self.hosts.values():
            for started in host.processes.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(started.pid, signal.SIGTERM)
        for host in self.hosts.values():
            for started in host.processes.values():
                try:
                    started.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(started.pid, signal.SIGKILL)
                    started.wait(timeout=10)
        for proxy in self.proxies:
            proxy.stop()
        for host in self.hosts.values():
            if host.namespace:
                subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True, check=False)

    def logs(self) -> str:
        tails = []
        for path in sorted(self.workdir.glob("host-*/logs/*.log")):
            lines = path.read_text(errors="replace").splitlines()[-25:]
            tails.append(f"--- {path.relative_to(self.workdir)}\n" + "\n".join(lines))
        return "\n".join(tails)


def wait_for(predicate, *, timeout: float, interval: float = 0.3, message: str = ""):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}: last={last!r}")


def converting_in(directory: Path) -> list[psutil.Process]:
    """The ffmpeg of a convert step (writing webm.webm) working under ``directory``."""
    found = []
    for process in psutil.process_iter(["name", "cwd", "cmdline"]):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            cwd = process.info["cwd"] or ""
            if ("ffmpeg" in (process.info["name"] or "") and (cwd + os.sep).startswith(str(directory) + os.sep)
                    and any(arg.endswith("webm.webm.part") for arg in process.info["cmdline"] or ())):
                found.append(process)
    return found


def scratch_files(host: Host) -> list[str]:
    """What is left in a host's scratch, but for the sweeper's stamp."""
    return sorted(str(p.relative_to(host.scratch)) for p in host.scratch.rglob("*")
                  if p.is_file() and p.name != ".scratch-sweep")


def task_counter(host: Host) -> float:
    """The host's task executions, read from one of its workers' /metrics port (each serves the host's folder)."""
    port = next(port for process, port in host.metrics_ports.items() if process in host.processes
                and host.processes[process].poll() is None)
    body = requests.get(f"http://{host.address}:{port}/metrics", headers={"Authorization": f"Bearer {OPS_TOKEN}"},
                        timeout=10).text
    return sum(sample.value for family in text_string_to_metric_families(body) for sample in family.samples
               if sample.name == TASKS)


@pytest.fixture()
def cluster(tmp_path, settings):
    """Shared services here (fresh database, private Redis db, moto, anvil), and three empty hosts."""
    from tests.conftest import PG_ADMIN_URL

    database = f"showreel_multihost_{os.getpid()}"
    create_database(PG_ADMIN_URL, database)
    redis_url = urlsplit(settings.REDIS_URL)
    redis_db = int((redis_url.path or "/0").strip("/") or 0)
    import redis

    redis.Redis(host=redis_url.hostname, port=redis_url.port or 6379, db=redis_db).flushdb()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    anvil = Anvil()
    pg = urlsplit(PG_ADMIN_URL)
    services = {"postgres": (pg.hostname, pg.port or 5432), "redis": (redis_url.hostname, redis_url.port or 6379),
                "s3": moto.get_host_and_port(), "chain": ("127.0.0.1", anvil.port)}
    made = Cluster(tmp_path, services, database, redis_db)
    made.web_port = WEB_PORT if made.mode == "network namespaces" else free_port()
    made.anvil = anvil
    made.database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database
    print(f"\nmulti-host test: the hosts are {made.mode}")
    try:
        yield made
    finally:
        made.stop()
        anvil.stop()
        moto.stop()
        drop_database(PG_ADMIN_URL, database)


def test_three_hosts_share_only_postgresql_redis_and_s3(cluster, tmp_path, record_property):
    record_property("hosts", cluster.mode)
    a, b, c = (cluster.hosts[name] for name in "abc")
    began = time.monotonic()
    # A file left by a crash two days ago in every host's scratch: each host's own sweep removes it.
    for host in (a, b, c):
        age(_write(host.scratch / "jobs" / str(uuid.uuid4()) / "run-1" / "left-by-a-crash.bin"), 49)
    # The operator's one-off (compose's migrate service): settings check, schema, bucket.
    cluster.run(a, "python -m shared.production check migrate && alembic upgrade heads "
                   "&& python -m shared.production ensure-bucket")
    for process in HOSTS["a"]:
        cluster.start(a, process)
    for host in (b, c):
        for process in HOSTS[host.name]:
            if (host.name, process) != ("c", "worker-video"):  # C's video pool starts after B's is killed
                cluster.start(host, process)
    key = re.search(r"api key \(shown once\): (\S+)", cluster.run(a, "flask --app 'api.app:wsgi()' tenants create "
                                                                     "acme")).group(1)
    api = cluster.web_url()
    try:
        wait_for(lambda: _ready(api), timeout=60, message="host A's web to be ready")
        media_jobs(cluster, api, key, tmp_path)
        killed_convert(cluster, api, key, tmp_path)
        paid_profile(cluster, api)
        counters = {host.host_name: task_counter(host) for host in (b, c)}
        assert all(count > 0 for count in counters.values()), counters
        nothing_left(cluster, api)
    except BaseException:
        print(cluster.logs())
        raise
    print(f"multi-host test ({cluster.mode}): {time.monotonic() - began:.0f} s; task counters {counters}")


def _write(path: Path, data: bytes = b"x" * 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    for folder in (path.parent, path.parent.parent):
        age(folder, 49)
    return path


def _ready(api: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(f"{api}/readyz", timeout=5).status_code == 200
    return False


def _job(api: str, key: str, job_id: str) -> dict | None:
    job = requests.get(f"{api}/api/media/{job_id}/", headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
    return job if job["status"] in ("done", "failed", "canceled") else None


def _public(url: str, cluster: Cluster) -> requests.Response:
    """Download a link as a browser would: plain HTTP, from outside every host's namespace."""
    assert url.startswith(f"http://127.0.0.1:{cluster.services['s3'][1]}/{BUCKET}/"), url
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, (url, response.status_code)
    return response


def media_jobs(cluster: Cluster, api: str, key: str, tmp_path: Path) -> None:
    """An image job and a video job through the media API, with the tenant's key."""
    clip = h264_mp4(tmp_path / "clip.mp4", seconds=1.0, size="160x120", audio=False)
    headers = {"Authorization": f"Bearer {key}"}
    assert requests.post(f"{api}/api/media/", files={"file": ("a.png", png_bytes(64, 48))},
                         timeout=30).status_code == 401  # production: a key is required
    ids = []
    for name, data in (("photo.png", png_bytes(640, 480)), ("clip.mp4", clip.read_bytes())):
        created = requests.post(f"{api}/api/media/", files={"file": (name, data)}, headers=headers, timeout=60)
        assert created.status_code == 201, created.text
        ids.append(created.json()["job_id"])
    for job_id in ids:
        job = wait_for(lambda job_id=job_id: _job(api, key, job_id), timeout=60, message=f"media job {job_id}")
        assert job["status"] == "done", job
        assert job["result_urls"], job
        for url in job["result_urls"].values():
            assert _public(url, cluster).content


def killed_convert(cluster: Cluster, api: str, key: str, tmp_path: Path) -> None:
    """SIGKILL host B's video worker mid-convert; host C's finishes the job, exactly once."""
    b, c = cluster.hosts["b"], cluster.hosts["c"]
    clip = h264_mp4(tmp_path / "long.mp4", seconds=12.0, size="640x360", audio=True)
    created = requests.post(f"{api}/api/media/", files={"file": ("long.mp4", clip.read_bytes())},
                            headers={"Authorization": f"Bearer {key}"}, timeout=60)
    assert created.status_code == 201, created.text
    job_id = created.json()["job_id"]
    ffmpegs = wait_for(lambda: converting_in(b.scratch / "jobs" / job_id), timeout=60,
                       message="ffmpeg converting on host B")
    for ffmpeg in ffmpegs:
        # Frozen mid-convert: however fast this machine transcodes, the kill lands inside the step.
        with contextlib.suppress(psutil.NoSuchProcess):
            ffmpeg.suspend()
    b.processes["worker-video"].send_signal(signal.SIGKILL)
    b.processes["worker-video"].wait(timeout=10)
    # PR_SET_PDEATHSIG kills the orphaned ffmpeg (a stopped process still takes SIGKILL).
    wait_for(lambda: not converting_in(b.scratch / "jobs" / job_id), timeout=10, message="host B's ffmpeg to die")
    cluster.start(c, "worker-video")
    job = wait_for(lambda: _job(api, key, job_id), timeout=90, interval=0.5, message="host C to finish the job")
    assert job["status"] == "done", job
    assert job["steps"]["convert"]["deliveries"] == 2  # the killed run counted
    engine = create_engine(cluster.database_url)
    try:
        with engine.connect() as connection:
            events = dict(connection.execute(
                select(OutboxEvent.type, func.count()).where(OutboxEvent.aggregate_id == job_id)
                .group_by(OutboxEvent.type)).all())
            tenant = connection.execute(text("SELECT tenant_id FROM media_jobs WHERE id = :id"),
                                        {"id": job_id}).scalar_one()
    finally:
        engine.dispose()
    assert events == {"job.queued": 1, "job.processing": 1, "job.done": 1}
    storage = _storage(cluster)
    stored = sorted(found.key.rsplit("/", 1)[1] for found in storage.list(f"tenants/{tenant}/media/{job_id}/"))
    assert stored == ["poster.jpg", "preview.webm", "source.mp4", "webm.webm"]


def _storage(cluster: Cluster) -> S3Storage:
    address, port = cluster.services["s3"]
    return S3Storage(endpoint=f"{address}:{port}", bucket=BUCKET, access_key="testing", secret_key="testing")


def paid_profile(cluster: Cluster, api: str) -> None:
    """Sign in with a dev account, upload, submit, pay on anvil, published; the links load from here."""
    token = login(api, KEY)
    headers = {"Authorization": f"Bearer {token}"}
    clip = h264_mp4(cluster.workdir / "me.mp4", seconds=1.0, size="160x120", audio=False)
    uploads = {}
    for kind, (name, data) in {"image": ("me.png", png_bytes(96, 96)), "video": ("me.mp4", clip.read_bytes())}.items():
        made = requests.post(f"{api}/api/uploads/", files={"file": (name, data)}, headers=headers, timeout=60)
        assert made.status_code == 201, made.text
        uploads[kind] = made.json()
    # The web host keeps nothing: the upload is in storage, and its preview is S3's.
    assert scratch_files(cluster.hosts["a"]) == []
    preview = requests.get(uploads["video"]["preview_url"], headers={"Range": "bytes=0-99"}, timeout=30)
    assert preview.status_code == 206 and len(preview.content) == 100
    submission = requests.post(f"{api}/api/submissions/", headers=headers, timeout=30, json={
        "profile_data": {"name": "Ann", "hashtags": "#travel"}, "image_upload_id": uploads["image"]["id"],
        "video_upload_id": uploads["video"]["id"]})
    assert submission.status_code == 201, submission.text
    submission_id = submission.json()["id"]
    quote = submission.json()["payment"]
    tx_hash = pay(cluster.anvil.web3, KEY, quote["to"], int(quote["amount_wei"]))
    posted = requests.post(f"{api}/api/submissions/{submission_id}/payment/", headers=headers,
                           json={"tx_hash": tx_hash}, timeout=30)
    assert posted.status_code == 202, posted.text

    def finished():
        cluster.anvil.mine(1)  # confirmations
        state = requests.get(f"{api}/api/submissions/{submission_id}/", headers=headers, timeout=10).json()
        return state if state["status"] in ("published", "failed") else None

    state = wait_for(finished, timeout=90, interval=0.5, message="the paid submission")
    assert state["status"] == "published", state
    profile = requests.get(f"{api}/api/profiles/{WALLET}/", timeout=10).json()
    webm = _public(profile["video"]["webm"]["url"], cluster)
    assert webm.content[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a WebM file
    for output in profile["avatar"].values():
        assert _public(output["url"], cluster).content


def nothing_left(cluster: Cluster, api: str) -> None:
    """Every host swept its scratch; nothing of finished work is left in it or under tmp/ in storage."""
    ops = {"Authorization": f"Bearer {OPS_TOKEN}"}

    def swept() -> dict[str, list[str]] | None:
        left = {host.host_name: scratch_files(host) for host in cluster.hosts.values()}
        return None if any(left.values()) else left

    wait_for(swept, timeout=30, interval=1, message="every host's scratch to be empty")
    runs = requests.get(f"{api}/api/ops/runs/?schedule=purge-temp&limit=500", headers=ops, timeout=10).json()["runs"]
    by_host = {}
    for run in runs:
        if run["trigger"] == "host" and run["status"] == "succeeded":
            by_host.setdefault(run["stats"]["host"], []).append(run["stats"]["files_removed"])
    assert {name: max(removed) >= 1 for name, removed in by_host.items()} == {
        "host-a": True, "host-b": True, "host-c": True}, by_host
    # The scheduled purge (requested as ops would) runs on one worker host and covers storage's tmp/.
    requested = requests.post(f"{api}/api/ops/schedules/purge-temp/run/", headers=ops, json={}, timeout=10)
    assert requested.status_code in (200, 201, 202), requested.text
    run_id = requested.json()["run_id"]

    def ended():
        found = requests.get(f"{api}/api/ops/runs/{run_id}/", headers=ops, timeout=10).json()
        return found if found["status"] in ("succeeded", "failed") else None

    run = wait_for(ended, timeout=30, message="the purge-temp run")
    assert run["status"] == "succeeded" and run["stats"]["host"] in ("host-b", "host-c"), run
    assert run["stats"]["storage"]["errors"] == []
    assert list(_storage(cluster).list("tmp/")) == []
