"""One load run: start the system, run the generator beside a monitor, drain, check every job."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import ROOT
from bench.load.monitor import Monitor
from bench.load.system import RunningSystem
from shared.db.session import normalize_url

JOB_FINAL = ("done", "failed", "canceled")
SUBMISSION_FINAL = ("published", "rejected", "failed", "expired")


@dataclass
class LoadRun:
    """What one run produced: the generator's lines, the monitor's samples, the integrity check."""

    config: str
    scenario: str
    users: int
    run: dict[str, Any]
    requests: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    submissions: list[dict[str, Any]]
    samples: list[dict[str, Any]]
    integrity: dict[str, Any]
    restarts: dict[str, int]
    events: list[dict[str, Any]] = field(default_factory=list)  # faults injected (chaos)


def start_generator(system: RunningSystem, folder: Path, *, scenario: str, users: int, seconds: float,
                    fixtures: Path, spawn_rate: float = 10.0, options: tuple[str, ...] = (),
                    name: str | None = None) -> tuple[subprocess.Popen, Path]:
    """Start ``bench.load.generate``; ``options`` go to it as they are, ``name`` (default the scenario)
    names its output and log files."""
    name = name or scenario
    out = folder / f"generator-{name}.jsonl"
    command = [sys.executable, "-m", "bench.load.generate", "--host", system.base, "--scenario", scenario,
               "--users", str(users), "--seconds", str(seconds), "--fixtures", str(fixtures), "--out", str(out),
               "--spawn-rate", str(spawn_rate), *options]
    log = (folder / f"generator-{name}.log").open("wb")
    return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT), out


def read_generator(path: Path) -> tuple[dict, list[dict], list[dict], list[dict]]:
    run, requests, jobs, submissions = {}, [], [], []
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        kind = entry.pop("kind")
        if kind == "run":
            run = entry
        elif kind == "request":
            requests.append(entry)
        elif kind == "job":
            jobs.append(entry)
        elif kind == "submission":
            submissions.append(entry)
    return run, requests, jobs, submissions


def run_load(system: RunningSystem, folder: Path, *, scenario: str, users: int, seconds: float, fixtures: Path,
             during: Callable[[Monitor, subprocess.Popen], list[dict]] | None = None,
             extra_jobs: Callable[[], list[dict]] | None = None, drain_timeout: float = 300,
             options: tuple[str, ...] = (), name: str | None = None) -> LoadRun:
    """Run the generator against ``system``; ``during`` injects faults while it runs and returns what it did.

    ``options`` are more generator options (``--poll``, ``--first-photo``); ``name`` tells two runs
    of one scenario on the same system apart.
    """
    earlier = _job_ids(system)  # an earlier run's jobs on the same system are not this run's
    name = name or scenario
    with Monitor(system) as monitor:
        generator, out = start_generator(system, folder, scenario=scenario, users=users, seconds=seconds,
                                         fixtures=fixtures, spawn_rate=max(1.0, users / 5), options=options,
                                         name=name)
        events = during(monitor, generator) if during else []
        generator.wait(timeout=seconds + 1800)
        if generator.returncode != 0:
            raise SystemExit(f"the load generator failed:\n{(folder / f'generator-{name}.log').read_text()[-3000:]}")
        run, requests, jobs, submissions = read_generator(out)
        jobs += extra_jobs() if extra_jobs else []
        integrity = check_integrity(system, jobs, submissions, drain_timeout, earlier)
    restarts = {m.name: len(m.unexpected_exits) for m in system.supervisor.processes.values() if m.unexpected_exits}
    return LoadRun(system.config, scenario, users, run, requests, jobs, submissions, monitor.samples, integrity,
                   restarts, events)


def _hex(value: Any) -> str:
    return uuid.UUID(str(value)).hex


def _job_ids(system: RunningSystem) -> set[str]:
    engine = create_engine(normalize_url(system.database_url))
    try:
        with engine.connect() as connection:
            return {_hex(i) for (i,) in connection.execute(text("SELECT id FROM media_jobs"))}
    finally:
        engine.dispose()


def check_integrity(system: RunningSystem, jobs: list[dict], submissions: list[dict], timeout: float,
                    earlier: set[str] = frozenset()) -> dict:
    """Wait until every accepted job and paid submission is final, then count final transitions of each.

    Exactly once means one terminal outbox event per job (job.done/failed/canceled) and one status
    event with a final status per submission; jobs the server created that no client heard of (an
    answer cut by the end of the run) are checked the same way.
    """
    engine = create_engine(normalize_url(system.database_url))
    accepted = {job["id"] for job in jobs}
    paid = {s["id"] for s in submissions}
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                job_rows = {_hex(i): s for i, s in connection.execute(text("SELECT id, status FROM media_jobs"))
                            if _hex(i) not in earlier}
                sub_rows = {_hex(i): s for i, s in connection.execute(text("SELECT id, status FROM submissions"))}
            open_jobs = [i for i in accepted | set(job_rows) if job_rows.get(i) not in JOB_FINAL]
            open_subs = [i for i in paid if sub_rows.get(i) not in SUBMISSION_FINAL]
            if not (open_jobs or open_subs) or time.monotonic() > deadline:
                break
            time.sleep(2)
        drained_at = time.time()
        with engine.connect() as connection:
            terminal = Counter(_hex_or_raw(a) for (a,) in connection.execute(text(
                "SELECT aggregate_id FROM outbox_events WHERE type IN ('job.done', 'job.failed', 'job.canceled')")))
            final_events: Counter[str] = Counter()
            for aggregate, payload in connection.execute(text(
                    "SELECT aggregate_id, payload FROM outbox_events WHERE type LIKE 'submission.%'")):
                payload = json.loads(payload) if isinstance(payload, str) else payload
                if (payload or {}).get("status") in SUBMISSION_FINAL:
                    final_events[_hex_or_raw(aggregate)] += 1
            unfinished = {i for i in accepted | set(job_rows) if job_rows.get(i) not in JOB_FINAL}
            lost_detail = [_job_detail(row) for row in connection.execute(text(
                "SELECT id, kind, status, created_at, updated_at, steps FROM media_jobs")) if _hex(row[0]) in unfinished]
    finally:
        engine.dispose()
    all_jobs = accepted | set(job_rows)
    return {
        "accepted_jobs": len(accepted),
        "server_only_jobs": len(set(job_rows) - accepted),
        "job_status": dict(Counter(job_rows.get(i, "missing") for i in all_jobs)),
        "lost_jobs": sorted(i for i in all_jobs if job_rows.get(i) not in JOB_FINAL),
        "duplicated_jobs": sorted(i for i in all_jobs if terminal[i] > 1),
        "jobs_without_final_event": sorted(i for i in all_jobs if job_rows.get(i) in JOB_FINAL and terminal[i] == 0),
        "paid_submissions": len(paid),
        "submission_status": dict(Counter(sub_rows.get(i, "missing") for i in paid)),
        "lost_submissions": sorted(i for i in paid if sub_rows.get(i) not in SUBMISSION_FINAL),
        "duplicated_submissions": sorted(i for i in paid if final_events[i] > 1),
        "drained_at": drained_at,
        "lost_detail": lost_detail,
    }


def _job_detail(row) -> dict[str, Any]:
    """Kind, status, times (epoch) and the per-step status/deliveries of a job that did not finish."""
    steps = json.loads(row[5]) if isinstance(row[5], str) else (row[5] or {})
    return {"id": _hex(row[0]), "kind": row[1], "status": row[2], "created": _epoch(row[3]),
            "updated": _epoch(row[4]),
            "steps": {name: f"{step.get('status')}/{step.get('deliveries')}" for name, step in steps.items()
                      if isinstance(step, dict)}}


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def _hex_or_raw(value: str) -> str:
    try:
        return _hex(value)
    except ValueError:
        return value
