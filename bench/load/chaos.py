"""Faults under load (issue 14, item 4): ``python -m bench.load.chaos`` or ``python -m bench --only chaos``.

On PostgreSQL + Redis (a private cluster and a private redis-server with AOF, never the
machine's shared ones) with the mix running, one after the other: kill -9 the video
worker while ffmpeg runs, kill -9 the media worker, kill -9 Redis and start it again on
its AOF, crash PostgreSQL (``pg_ctl stop -m immediate``) and start it again, stop the relay
for 30 s. After each fault a probe image job is posted: *API back* is when it is accepted,
*pipeline back* when it is done. Afterwards every accepted job and paid submission must
reach a final state exactly once, and the API may have answered only 2xx/4xx, or 503 with
Retry-After while Redis or PostgreSQL was down (503 ``too_many_streams`` counts as allowed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

from bench.common import Verdict, markdown_table
from bench.load import DOCS, NO_WRITE_HELP, plots_folder, publish_section
from bench.load.fixtures import make_fixtures, unique_jpeg

HEADING = "## Faults under load (chaos)"
DEPENDENCY_DOWN_SECONDS = 10.0
RELAY_STOP_SECONDS = 30.0
# After a dependency returns, clients may still see its 503s until their next attempt.
GRACE_SECONDS = 5.0


@dataclass
class Fault:
    label: str
    start: float
    end: float = 0.0  # the dependency (or process) is back
    dependency: bool = False  # Redis or PostgreSQL: 503 with Retry-After is allowed meanwhile
    in_flight: set[str] = field(default_factory=set)
    in_flight_done: float | None = None
    api_back: float | None = None
    pipeline_back: float | None = None
    probe: dict[str, Any] | None = None

    def as_event(self) -> dict[str, Any]:
        return {"label": self.label, "start": self.start, "end": self.end or self.start}


class Chaos:
    """Inject the faults one after the other while the generator runs, and time each recovery."""

    def __init__(self, system, fixtures: Path, *, warm: float, gap: float):
        self.system = system
        self.image = (fixtures / "small-0.jpg").read_bytes()
        self.warm, self.gap = warm, gap
        self.faults: list[Fault] = []

    @property
    def seconds(self) -> float:
        """How long the load must run to cover every fault and its recovery."""
        return self.warm + 5 * self.gap + 2 * (DEPENDENCY_DOWN_SECONDS + 10) + RELAY_STOP_SECONDS + 40

    def inject(self, monitor, generator) -> list[dict[str, Any]]:
        ends = time.time() + self.seconds
        time.sleep(self.warm)
        for step in (self._kill_video_worker, self._kill_media_worker, self._restart_redis, self._restart_postgres,
                     self._stop_relay):
            started = time.time()
            fault = step(monitor)
            self.faults.append(fault)
            self._recover(fault, monitor, deadline=started + self.gap + fault_length(fault))
            print(f"    {fault.label}: {self.describe(fault)}", flush=True)
            time.sleep(max(0.0, started + self.gap + fault_length(fault) - time.time()))
        if time.time() > ends:
            print("    the faults outlasted the load: the last recoveries ran without it", flush=True)
        return [fault.as_event() for fault in self.faults]

    def _kill(self, name: str, monitor, label: str, wait_for_ffmpeg: bool) -> Fault:
        supervisor = self.system.supervisor
        deadline = time.monotonic() + 30
        while wait_for_ffmpeg and time.monotonic() < deadline and not _has_child(supervisor.pid(name), "ffmpeg"):
            time.sleep(0.2)
        in_flight = _quietly(monitor.processing_job_ids, set())
        starts = supervisor.processes[name].starts
        fault = Fault(label, time.time(), in_flight=in_flight)
        supervisor.signal(name, signal.SIGKILL)
        while supervisor.processes[name].starts == starts:  # the supervisor brings it back, as compose would
            time.sleep(0.1)
        fault.end = time.time()
        return fault

    def _kill_video_worker(self, monitor) -> Fault:
        return self._kill("worker-video", monitor, "kill -9 worker-video (during ffmpeg)", wait_for_ffmpeg=True)

    def _kill_media_worker(self, monitor) -> Fault:
        return self._kill("worker-media", monitor, "kill -9 worker-media", wait_for_ffmpeg=False)

    def _restart_redis(self, monitor) -> Fault:
        fault = Fault("Redis kill -9, 10 s down, restart on its AOF", time.time(), dependency=True)
        self.system.redis.kill()
        time.sleep(DEPENDENCY_DOWN_SECONDS)
        self.system.redis.start()
        fault.end = time.time()
        return fault

    def _restart_postgres(self, monitor) -> Fault:
        fault = Fault("PostgreSQL crash (stop -m immediate), 10 s down, restart", time.time(), dependency=True)
        self.system.postgres.stop("immediate")
        time.sleep(DEPENDENCY_DOWN_SECONDS)
        self.system.postgres.start()
        fault.end = time.time()
        return fault

    def _stop_relay(self, monitor) -> Fault:
        fault = Fault("relay stopped for 30 s", time.time())
        self.system.supervisor.stop("relay")
        time.sleep(RELAY_STOP_SECONDS)
        self.system.supervisor.start("relay")
        fault.end = time.time()
        return fault

    def _recover(self, fault: Fault, monitor, deadline: float) -> None:
        """Post a probe job until accepted (API back), poll it to done (pipeline back); wait for the in-flight jobs."""
        base = self.system.base
        while fault.api_back is None and time.time() < deadline:
            try:
                created = requests.post(f"{base}/api/media/", files={"file": ("probe.jpg", unique_jpeg(self.image))},
                                        timeout=10)
                if created.status_code == 201:
                    fault.api_back = time.time()
                    ref = created.json()["job_id"]
                    fault.probe = {"id": ref.replace("-", ""), "ref": ref, "media": "probe",
                                   "accepted": fault.api_back, "final": None, "status": None}
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        while fault.probe and fault.pipeline_back is None and time.time() < deadline:
            try:
                status = requests.get(f"{base}/api/media/{fault.probe['ref']}/", timeout=10).json().get("status")
            except (requests.RequestException, ValueError):
                status = None
            if status == "done":
                fault.pipeline_back = time.time()
                fault.probe.update(final=fault.pipeline_back, status=status)
            time.sleep(0.25)
        while fault.in_flight and time.time() < deadline:
            if not (_quietly(monitor.processing_job_ids, fault.in_flight) & fault.in_flight):
                fault.in_flight_done = time.time()
                break
            time.sleep(0.5)

    def probe_jobs(self) -> list[dict[str, Any]]:
        return [fault.probe for fault in self.faults if fault.probe]

    def describe(self, fault: Fault) -> str:
        return ", ".join(f"{name} {_since(fault, at)}" for name, at in
                         (("API back", fault.api_back), ("pipeline back", fault.pipeline_back),
                          ("in-flight jobs final", fault.in_flight_done)))


def fault_length(fault: Fault) -> float:
    return (fault.end or fault.start) - fault.start


def _since(fault: Fault, at: float | None) -> str:
    return f"{at - fault.end:+.1f} s" if at else "not within the window"


def _has_child(pid: int, name: str) -> bool:
    try:
        return any(name in (child.name() or "") for child in psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return False


def _quietly(call, default):
    try:
        return call()
    except Exception:  # noqa: BLE001 - the database may be the fault
        return default


def classify(run, faults: list[Fault]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Count the answers by kind; return the counts and the answers no rule allows."""
    counts = {"2xx/3xx": 0, "4xx": 0, "503 with Retry-After while a dependency was down": 0,
              "503 too_many_streams": 0, "other 5xx or no answer": 0}
    bad = []
    windows = [(f.start, (f.api_back or f.end) + GRACE_SECONDS) for f in faults if f.dependency]
    for request in run.requests:
        status = request["status"]
        if 0 < status < 400:
            counts["2xx/3xx"] += 1
        elif 400 <= status < 500:
            counts["4xx"] += 1
        elif status == 503 and request.get("code") == "too_many_streams":
            counts["503 too_many_streams"] += 1
        elif status == 503 and request.get("retry_after") and _answered_within(request, windows):
            counts["503 with Retry-After while a dependency was down"] += 1
        else:
            counts["other 5xx or no answer"] += 1
            bad.append(request)
    return counts, bad


def _answered_within(request: dict[str, Any], windows: list[tuple[float, float]]) -> bool:
    """Whether the answer came (start + latency) while a dependency was down."""
    answered = request["t"] + request["ms"] / 1000
    return any(a <= answered <= b for a, b in windows)


def run(users: int | None = None, gap: float | None = None, warm: float = 30.0,
        plots: Path = DOCS, keep: bool = False) -> tuple[str, list[Verdict]]:
    """Measure; return the markdown section and its verdicts.

    ``gap`` (seconds between two faults) defaults to BENCH_CHAOS_GAP_SECONDS or 60: the run lasts
    about ``warm + 5 * gap + 140`` seconds, so ``make bench`` bounds it through the environment.
    """
    gap = gap or float(os.environ.get("BENCH_CHAOS_GAP_SECONDS", "60"))
    from bench.load import options_from_env
    from bench.load.runner import run_load
    from bench.load.system import start_system

    users = users or options_from_env()[1]
    folder = Path(tempfile.mkdtemp(prefix="showreel-chaos-"))
    try:
        fixtures = make_fixtures(folder / "fixtures", photos=0)
        with start_system(folder / "postgres", "postgres") as system:
            chaos = Chaos(system, fixtures, warm=warm, gap=gap)
            print(f"  chaos: {users} users for {chaos.seconds:.0f} s on PostgreSQL + Redis", flush=True)
            result = run_load(system, folder, scenario="mix", users=users, seconds=chaos.seconds, fixtures=fixtures,
                              during=chaos.inject, extra_jobs=chaos.probe_jobs)
        return section(result, chaos, users, plots)
    finally:
        if keep:
            print(f"Kept {folder} (process logs, generator lines)", flush=True)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def section(result, chaos: Chaos, users: int, plots: Path) -> tuple[str, list[Verdict]]:
    from bench.load import analysis
    from bench.load.plots import plot_run

    counts, bad = classify(result, chaos.faults)
    origin = result.run["started"]
    verdicts = [*analysis.integrity_verdicts(result, "Chaos"),
                Verdict("Chaos: API answers", "only 2xx/4xx, or 503 + Retry-After while a dependency is down",
                        f"{len(bad)} others of {len(result.requests)}", "pass" if not bad else "MISSED")]
    image = plot_run(result, plots / "load-chaos.png", f"Faults under load: {users} users, PostgreSQL + Redis")
    rows = [[f.label, f"{f.start - origin:.0f}", f"{fault_length(f):.1f}", _since(f, f.api_back),
             _since(f, f.pipeline_back),
             (_since(f, f.in_flight_done) + f" ({len(f.in_flight)} jobs)") if f.in_flight else "-"]
            for f in chaos.faults]
    check = result.integrity
    lines = [
        HEADING, "",
        (f"`python -m bench.load.chaos` (or `python -m bench --only chaos`): {users} users of the mix on "
        f"PostgreSQL + Redis (a private cluster started with initdb/pg_ctl as the postgres user, a private "
        f"redis-server with `appendonly yes`, `appendfsync everysec` as in compose.yaml) and every Procfile "
        f"process under a supervisor that restarts an exited process after {1:.0f} s, as compose's "
        f"`restart: unless-stopped` does. Faults, {chaos.gap:.0f} s apart, each followed by a probe image job "
        f"(times below count from the moment the process or dependency is back):"), "",
        analysis.verdict_rows(verdicts), "",
        markdown_table(["fault", "at s", "lasted s", "API back (probe accepted)", "pipeline back (probe done)",
                        "jobs a worker was on, all final"], rows), "",
        f"- Answers: {', '.join(f'{kind}: {n}' for kind, n in counts.items())}.",
        (f"- Jobs: {check['accepted_jobs']} accepted ({check['job_status']}), lost {len(check['lost_jobs'])}, "
        f"duplicated {len(check['duplicated_jobs'])}; paid submissions {check['paid_submissions']} "
        f"({check['submission_status']}), lost {len(check['lost_submissions'])}, duplicated "
        f"{len(check['duplicated_submissions'])}."),
        f"- Processes that exited on their own and were restarted: {result.restarts or 'none'}.", "",
        f"![throughput, latency, queue age and web RSS, fault windows shaded]({image.name})", "",
    ]
    if check["lost_detail"]:
        lines += ["Jobs that never reached a final state (seconds into the run):", "",
                  markdown_table(analysis.LOST_HEADERS, analysis.lost_rows(result, origin)), ""]
    if bad:
        lines += ["Answers no rule allows (each one a finding to fix; seconds count from the start of the load):", "",
                  markdown_table(["route", "status", "code", "Retry-After", "count", "seconds into the run"],
                                 analysis.error_rows(bad, origin)), ""]
    return "\n".join(lines) + "\n", verdicts


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load.chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, help="users of the mix (default BENCH_LOAD_USERS or 50)")
    parser.add_argument("--gap", type=float, help="seconds between two faults (default BENCH_CHAOS_GAP_SECONDS or 60)")
    parser.add_argument("--warm", type=float, default=30.0, help="seconds of load before the first fault")
    parser.add_argument("--no-write", action="store_true", help=NO_WRITE_HELP)
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (process logs)")
    options = parser.parse_args()
    text, _ = run(options.users, options.gap, options.warm, keep=options.keep,
                  plots=plots_folder(write=not options.no_write))
    publish_section(text, HEADING, "chaos", write=not options.no_write)


if __name__ == "__main__":
    main()
