"""Figures of a load run: throughput, latency per route, answers, CPU, RSS, and the verdicts."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from typing import Any

import numpy as np

from bench.common import MB, Verdict, markdown_table
from bench.load.runner import LoadRun

# Streams stay open for minutes: their row is the time to the first byte, kept out of the aggregate.
STREAM_ROUTES = {"GET /api/submissions/{id}/events/"}


def cores() -> int:
    return len(os.sched_getaffinity(0))


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def window(run: LoadRun) -> tuple[float, float]:
    return run.run["started"], run.run["ended"]


def finished_jobs(run: LoadRun, status: str = "done") -> list[dict[str, Any]]:
    return [job for job in run.jobs if job["status"] == status and job["final"]]


def throughput(run: LoadRun) -> float:
    """Jobs done per second, from the first job accepted to the last one done (the photo workload)."""
    done = finished_jobs(run)
    if len(done) < 2:
        return 0.0
    span = max(j["final"] for j in done) - min(j["accepted"] for j in run.jobs)
    return len(done) / span


def job_latency(run: LoadRun) -> tuple[float, float]:
    """p50 and p95 seconds from a job's POST answered to its client seeing it done (polls included)."""
    seconds = [job["final"] - job["accepted"] for job in finished_jobs(run)]
    return pct(seconds, 50), pct(seconds, 95)


def jobs_per_minute(run: LoadRun) -> dict[str, float]:
    """Jobs done per minute of the load window, by kind (done after the window: not counted)."""
    start, end = window(run)
    minutes = (end - start) / 60
    counts = Counter(j["media"] for j in finished_jobs(run) if j["final"] <= end)
    return {kind: count / minutes for kind, count in sorted(counts.items())}


def route_rows(run: LoadRun) -> list[list[str]]:
    by_route: dict[str, list[dict]] = defaultdict(list)
    for request in run.requests:
        by_route[request["route"]].append(request)
    rows = []
    for route, entries in sorted(by_route.items(), key=lambda item: -len(item[1])):
        times = [e["ms"] for e in entries if e["status"]]
        statuses = Counter(e["status"] or "no answer" for e in entries)
        rows.append([f"`{route}`", str(len(entries)), f"{pct(times, 50):.0f}", f"{pct(times, 95):.0f}",
                     f"{pct(times, 99):.0f}", f"{max(times, default=float('nan')):.0f}",
                     ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items(), key=lambda x: str(x[0])))])
    return rows


def server_errors(run: LoadRun) -> list[dict[str, Any]]:
    """Answers of 5xx (and no answer at all), except 503 too_many_streams, which the docs allow."""
    return [r for r in run.requests
            if (r["status"] >= 500 or not r["status"]) and not (r["status"] == 503 and r.get("code") == "too_many_streams")]


def streams_refused(run: LoadRun) -> int:
    return sum(1 for r in run.requests if r["status"] == 503 and r.get("code") == "too_many_streams")


def cpu_by_process(run: LoadRun) -> dict[str, float]:
    """CPU seconds of each system process over the run (first to last sample)."""
    first, last = run.samples[0]["cpu"], run.samples[-1]["cpu"]
    return {name: last[name] - first.get(name, 0.0) for name in last}


def cpu_table(run: LoadRun) -> tuple[list[list[str]], float, float]:
    """Rows of CPU seconds per process over the run, the system's total and the generator's."""
    used = cpu_by_process(run)
    system = sum(used.values())
    generator = run.run["cpu"]
    elapsed = run.samples[-1]["t"] - run.samples[0]["t"]
    rows = [[name, f"{seconds:.1f}"] for name, seconds in sorted(used.items(), key=lambda x: -x[1])]
    rows.append(["**system total**", f"**{system:.1f}**"])
    rows.append(["load generator (locust, one process)", f"{generator:.1f}"])
    rows.append([f"available ({cores()} cores x {elapsed:.0f} s)", f"{cores() * elapsed:.0f}"])
    return rows, system, generator


def rss_text(run: LoadRun) -> str:
    values = [(s["t"], s["web_rss"], s["web_worker_rss_max"]) for s in run.samples if s["web_rss"]]
    if not values:
        return "web RSS: not sampled"
    total = [v[1] for v in values]
    worker = [v[2] for v in values if v[2]]
    return (f"web (gunicorn master + workers) RSS: {total[0] / MB:.0f} MB at the start, peak {max(total) / MB:.0f} MB, "
            f"{total[-1] / MB:.0f} MB at the end; largest worker peak {max(worker, default=0) / MB:.0f} MB")


def integrity_verdicts(run: LoadRun, label: str) -> list[Verdict]:
    check = run.integrity
    lost = len(check["lost_jobs"]) + len(check["lost_submissions"])
    duplicated = len(check["duplicated_jobs"]) + len(check["duplicated_submissions"])
    jobs = f"{check['accepted_jobs']} jobs, {check['paid_submissions']} paid submissions"
    return [
        Verdict(f"{label}: lost jobs / submissions", "0", f"{lost} of {jobs}", "pass" if lost == 0 else "MISSED"),
        Verdict(f"{label}: duplicated final states", "0", str(duplicated), "pass" if duplicated == 0 else "MISSED"),
    ]


def load_verdicts(run: LoadRun, label: str) -> list[Verdict]:
    errors = server_errors(run)
    return [Verdict(f"{label}: 5xx answers", "0", f"{len(errors)} of {len(run.requests)} requests",
                    "pass" if not errors else "MISSED"), *integrity_verdicts(run, label)]


def verdict_rows(verdicts: list[Verdict]) -> str:
    return markdown_table(["target", "goal", "measured", "result"],
                          [[v.name, v.goal, v.measured, f"**{v.status}**" if v.passed else v.status] for v in verdicts])


def error_rows(errors: list[dict[str, Any]], origin: float) -> list[list[str]]:
    grouped = Counter((e["route"], e["status"] or "no answer", e.get("code") or e.get("error") or "",
                       "yes" if e.get("retry_after") else "no") for e in errors)
    rows = []
    for (route, status, code, retry), count in sorted(grouped.items(), key=lambda x: -x[1]):
        times = [e["t"] - origin for e in errors if e["route"] == route and (e["status"] or "no answer") == status]
        rows.append([f"`{route}`", str(status), code, retry, str(count), f"{min(times):.0f}-{max(times):.0f}"])
    return rows


def lost_rows(run: LoadRun, origin: float) -> list[list[str]]:
    """One row per job that never reached a final state: where it stopped."""
    return [[d["id"][:8], d["kind"], d["status"], f"{d['created'] - origin:.0f}" if d["created"] else "-",
             f"{d['updated'] - origin:.0f}" if d["updated"] else "-",
             ", ".join(f"{k} {v}" for k, v in d["steps"].items()) or "-"]
            for d in run.integrity.get("lost_detail", [])]


LOST_HEADERS = ["job", "kind", "status", "created s", "last update s", "steps (status/deliveries)"]


def photo_budget(run: LoadRun, render_cpu: float) -> tuple[list[str], float]:
    """Where one photo job's CPU goes: a row of milliseconds per job done, and the bound this cost allows.

    Columns: the render alone (the bound's measure), worker-media, web, the other system processes,
    the load generator, all of it; GET polls per job; the share of the cores the run kept busy.
    The bound this cost allows is what the run would reach with every core busy.
    """
    done = max(len(finished_jobs(run)), 1)
    used = cpu_by_process(run)
    media, web = used.get("worker-media", 0.0), used.get("web", 0.0)
    others = sum(used.values()) - media - web
    generator = run.run["cpu"]
    total = media + web + others + generator
    elapsed = run.samples[-1]["t"] - run.samples[0]["t"]
    polls = sum(1 for r in run.requests if r["route"].startswith("GET /api/media/"))
    per_job = total / done
    row = [f"{render_cpu * 1000:.0f}", *(f"{seconds / done * 1000:.0f}" for seconds in (media, web, others, generator)),
           f"{per_job * 1000:.0f}", f"{polls / done:.1f}", f"{total / (cores() * elapsed):.0%}" if elapsed else "-"]
    return row, cores() / per_job
