"""Load on the whole system (issue 14, items 3 and 6): ``python -m bench.load`` or ``python -m bench --only load``.

Starts every Procfile process (bench/load/system.py) on the embedded default (SQLite +
embedded Redis) and on PostgreSQL + Redis (a private cluster and redis-server), runs the
photo workload (16 clients x 8 distinct 1024x768 photos, polling every 0.5 s) against the
CPU bound, the same with other photos polled every 2 s (for comparison), then the mix of 50
locust users for BENCH_LOAD_MINUTES (default 10), and returns the markdown section with its
verdicts; the plots go to docs/load-*.png.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, Verdict, judge, markdown_table

HEADING = "## Load: the whole system under locust"
DOCS = ROOT / "docs"
PHOTO_CLIENTS, PHOTOS_PER_CLIENT = 16, 8
PHOTO_GOAL = 0.7
# Seconds between a photo client's polls: the goal's workload first, then one polling less, beside it.
PHOTO_POLLS = (0.5, 2.0)
CONFIG_LABELS = {"embedded": "embedded default (SQLite + embedded Redis)",
                 "postgres": "PostgreSQL + Redis (private cluster + redis-server with AOF)"}


def options_from_env() -> tuple[float, int]:
    """Minutes and users of the mix: BENCH_LOAD_MINUTES / BENCH_LOAD_USERS (``make bench`` takes the defaults)."""
    return float(os.environ.get("BENCH_LOAD_MINUTES", "10")), int(os.environ.get("BENCH_LOAD_USERS", "50"))


def photo_cpu_seconds(photos: list[Path], folder: Path) -> list[float]:
    """CPU seconds (all threads) of the in-process render of each photo with the default preset."""
    from shared.jobs.presets import get_preset
    from shared.media.images import render_image_presets
    from shared.settings import Settings

    settings = Settings.from_env({})
    sizes = get_preset("default").image.sizes
    render_image_presets(photos[0], folder / "warm-up", sizes, settings)
    seconds = []
    for index, photo in enumerate(photos):
        started = time.process_time()
        render_image_presets(photo, folder / f"render-{index}", sizes, settings)
        seconds.append(time.process_time() - started)
    return seconds


NO_WRITE_HELP = "print the section instead of writing it; the plots go to a temporary folder"


def plots_folder(write: bool) -> Path:
    """Where a run's plots go: docs/ beside the section it writes, or with ``--no-write`` a
    folder of their own, so a trial run leaves the committed plots as they are."""
    if write:
        return DOCS
    folder = Path(tempfile.mkdtemp(prefix="showreel-load-plots-"))
    print(f"Plots go to {folder}", flush=True)
    return folder


def run(minutes: float | None = None, users: int | None = None, configs: tuple[str, ...] = ("embedded", "postgres"),
        plots: Path = DOCS) -> tuple[str, list[Verdict]]:
    """Measure; return the markdown section and its verdicts."""
    from bench.load.fixtures import make_fixtures
    from bench.load.runner import run_load
    from bench.load.system import start_system

    env_minutes, env_users = options_from_env()
    minutes, users = minutes or env_minutes, users or env_users
    folder = Path(tempfile.mkdtemp(prefix="showreel-load-"))
    try:
        per_run = PHOTO_CLIENTS * PHOTOS_PER_CLIENT
        fixtures = make_fixtures(folder / "fixtures", photos=per_run * len(PHOTO_POLLS))
        photos = sorted(fixtures.glob("photo-*.jpg"))
        cpu = photo_cpu_seconds(photos[:15], folder / "renders")
        results = {}
        for config in configs:
            print(f"  load on {config}: photo workload, then the mix ({users} users, {minutes:g} min)", flush=True)
            with start_system(folder / config, config) as system:
                photo = {poll: run_load(system, folder / config, scenario="photo", users=PHOTO_CLIENTS, seconds=900,
                                        fixtures=fixtures, name=f"photo-poll{poll:g}",
                                        options=("--poll", str(poll), "--first-photo", str(index * per_run)))
                         for index, poll in enumerate(PHOTO_POLLS)}
                mix = run_load(system, folder / config, scenario="mix", users=users, seconds=minutes * 60,
                               fixtures=fixtures)
            results[config] = (photo, mix)
        return section(results, cpu, minutes, users, plots)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def section(results: dict, cpu: list[float], minutes: float, users: int,
            plots: Path) -> tuple[str, list[Verdict]]:
    from bench.load import analysis
    from bench.load.plots import plot_run
    from bench.load.system import LOAD_LIMITS

    per_job = statistics.median(cpu)
    bound = analysis.cores() / per_job
    verdicts: list[Verdict] = []
    photo_rows, budget_rows, parts = [], [], []
    for config, (photos, mix) in results.items():
        for poll, photo in photos.items():
            rate = analysis.throughput(photo)
            if poll == PHOTO_POLLS[0]:
                verdicts.append(Verdict(f"Photo workload, {config}: jobs/s vs the CPU bound", f">= {PHOTO_GOAL}x",
                                        f"{rate / bound:.2f}x ({rate:.1f} of {bound:.1f} jobs/s)",
                                        judge(rate / bound, PHOTO_GOAL, [], at_most=False)))
            verdicts += analysis.integrity_verdicts(photo, f"Photo workload polling every {poll:g} s, {config}")
            _, system_cpu, generator_cpu = analysis.cpu_table(photo)
            done = len(analysis.finished_jobs(photo))
            label = f"{CONFIG_LABELS[config]}, polls every {poll:g} s"
            latency = analysis.job_latency(photo)
            photo_rows.append([label, f"{done} / {len(photo.jobs)}",
                               f"{done / rate:.1f}" if rate else "-", f"{rate:.1f}", f"{rate / bound:.2f}x",
                               f"{latency[0]:.1f} ({latency[1]:.1f})",
                               f"{system_cpu / max(done, 1):.3f}", f"{system_cpu:.0f} / {generator_cpu:.0f}"])
            budget, allowed = analysis.photo_budget(photo, per_job)
            budget_rows.append([label, *budget, f"{allowed:.1f} ({allowed / bound:.2f}x)"])
        verdicts += analysis.load_verdicts(mix, f"Mix, {config}")
        image = plot_run(mix, plots / f"load-{config}.png", f"Mix of {users} users, {CONFIG_LABELS[config]}")
        parts.append(mix_part(mix, config, image))
    limits = ", ".join(f"`{k}={v}`" for k, v in LOAD_LIMITS.items())
    text = [
        HEADING, "",
        (f"Every Procfile process (web: gunicorn 2 workers x 4 threads; relay; dispatcher; worker-video, "
        f"worker-media, worker-light; scheduler) plus the dev chain, started by `bench/load/system.py` as "
        f"`make run` starts them, on {analysis.cores()} cores shared with the load generator (locust 2, one "
        f"process; the media clients are FastHttpUsers, the others HttpUsers); `python -m bench.load --minutes N "
        f"--users N` runs this part alone and rewrites this section."),
        "",
        (f"**How load traffic is keyed.** Every simulated user comes from 127.0.0.1, so the run raises the per-IP "
        f"and per-tenant limits through the settings of the started system: {limits}. Everything else is as "
        f"shipped: each profile user makes a new wallet per profile (per-wallet quotas never bind), and live-status "
        f"streams keep `SSE_MAX_STREAMS=2` per web process, so most are refused with 503 `too_many_streams` "
        f"and the client polls instead (counted below, allowed)."),
        "",
        verdict_table(verdicts), "",
        "### Photo workload against the CPU bound", "",
        (f"{PHOTO_CLIENTS} clients each post {PHOTOS_PER_CLIENT} distinct 1024x768 photos (JPEG q90), then poll "
        f"them with `If-None-Match` every {PHOTO_POLLS[0]:g} s: the goal's workload. Right after it, on the same "
        f"system, the same clients post {PHOTO_CLIENTS * PHOTOS_PER_CLIENT} other photos and poll every "
        f"{PHOTO_POLLS[1]:g} s, only to show how much of the gap the polls are (no verdict). Throughput is jobs done / (last done - first accepted); "
        f"a job's latency runs from its POST answered to the poll that saw it done. "
        f"The bound is cores / CPU seconds of one job, measured as the in-process render of such a photo with "
        f"the default preset ({len(cpu)} photos: median {per_job * 1000:.0f} ms CPU, range "
        f"{min(cpu) * 1000:.0f}-{max(cpu) * 1000:.0f} ms): {analysis.cores()} / {per_job:.3f} = "
        f"**{bound:.1f} jobs/s**."), "",
        markdown_table(["system", "done / accepted", "seconds", "jobs/s", "vs bound",
                        "job latency, s: p50 (p95)", "system CPU s per job",
                        "CPU s system / generator"], photo_rows),
        "",
        ("Where a photo job's CPU goes, in ms per job done (CPU seconds of each process over the run / jobs "
         "done; *polls* are the `GET /api/media/{id}/` requests per job; *cores busy* counts the system and the "
         "generator). The last column is the throughput this cost allows with every core busy, cores / all: "
         "the goal needs all of it within 1/0.7 = 1.43x the render, so the work around the render (the "
         "steps' commits and puts, the POST, the polls, the relay and dispatcher, the generator on the same "
         "cores) may cost 0.43x the render at most."), "",
        markdown_table(["system", "render (bound)", "worker-media", "web", "other processes", "load generator",
                        "all", "polls per job", "cores busy", "jobs/s at full CPU"], budget_rows),
        "",
        (f"The polls are a closed loop: while jobs are in flight the {PHOTO_CLIENTS} clients send up to "
         f"{PHOTO_CLIENTS * PHOTOS_PER_CLIENT / PHOTO_POLLS[0]:.0f} polls a second whatever the jobs do, and a "
         f"poll answered sooner is sent again sooner. A cheaper poll (the polls section) therefore buys more "
         f"polls per job more than it buys renders; the run polling every {PHOTO_POLLS[1]:g} s shows what the "
         f"same system does with a quarter of the polls. Each step hands the next one to the head of its queue "
         f"(docs/ARCHITECTURE.md), so a job that has begun finishes before new ones begin and its client stops "
         f"polling it sooner: with hand-offs at the tail (before 2026-12-05) all 128 converts ran before the first "
         f"upload (measured side by side that day, embedded, polls every 0.5 s: 12.5 -> 13.8 jobs/s, "
         f"10.1 -> 5.9 polls per job)."),
        "", *parts,
    ]
    return "\n".join(text) + "\n", verdicts


def verdict_table(verdicts: list[Verdict]) -> str:
    from bench.load.analysis import verdict_rows

    return verdict_rows(verdicts)


def mix_part(run, config: str, image: Path) -> str:
    from bench.load import analysis

    start, end = analysis.window(run)
    per_minute = analysis.jobs_per_minute(run)
    cpu_rows, system_cpu, generator_cpu = analysis.cpu_table(run)
    errors = analysis.server_errors(run)
    check = run.integrity
    refused = analysis.streams_refused(run)
    opened = sum(s.get("sse_streams", 0) for s in run.submissions)
    lines = [
        f"### Mix, {CONFIG_LABELS[config]}", "",
        (f"{run.users} users for {(end - start) / 60:.1f} min: media clients (weight 32: small images, 20% 5 s clips, "
        f"ETag polling every 0.5 s), profile owners (weight 8: new wallet, sign in, two uploads, submission, "
        f"payment on the dev chain, live status until published, the profile), visitors (weight 10: profile "
        f"list, profiles, public pages)."), "",
        "- Jobs done per minute: " + (", ".join(f"{kind} {rate:.1f}" for kind, rate in per_minute.items()) or "none")
        + f"; paid submissions {check['paid_submissions']} ({check['submission_status']}).",
        (f"- Jobs: {check['accepted_jobs']} accepted ({check['job_status']}), {check['server_only_jobs']} created "
        f"without the client hearing the answer (the run's end cut it); lost {len(check['lost_jobs'])}, duplicated "
        f"{len(check['duplicated_jobs'])}."),
        (f"- 5xx or no answer: {len(errors)} of {len(run.requests)} requests; live-status streams opened {opened}, "
        f"refused with 503 `too_many_streams` {refused} (allowed)."),
        f"- {analysis.rss_text(run)}.",
        f"- CPU seconds: system {system_cpu:.0f}, load generator {generator_cpu:.0f}."
        + (f" Processes restarted after exiting: {run.restarts}." if run.restarts else ""), "",
        f"![throughput, latency, queue age and web RSS over time]({image.name})", "",
        markdown_table(["route", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "answers"],
                       analysis.route_rows(run)), "",
    ]
    if check["lost_detail"]:
        lines += [markdown_table(analysis.LOST_HEADERS, analysis.lost_rows(run, start)), ""]
    if errors:
        lines += [markdown_table(["route", "status", "code", "Retry-After", "count", "seconds into the run"],
                                 analysis.error_rows(errors, start)), ""]
    lines += ["<details><summary>CPU seconds per process</summary>", "",
              markdown_table(["process", "CPU s"], cpu_rows), "", "</details>", ""]
    return "\n".join(lines)


def replace_section(text: str, heading: str, new: str) -> str:
    """``text`` with the ``## heading`` section swapped for ``new`` (appended when absent)."""
    start = text.find(heading)
    if start < 0:
        return text.rstrip("\n") + "\n\n" + new
    end = text.find("\n## ", start + len(heading))
    return text[:start] + new.rstrip("\n") + "\n" + (text[end:] if end >= 0 else "")


def publish_section(text: str, heading: str, what: str, write: bool) -> None:
    """Swap the section into docs/BENCHMARKS.md, or with ``--no-write`` print it."""
    if not write:
        print(text)
        return
    target = DOCS / "BENCHMARKS.md"
    target.write_text(replace_section(target.read_text(), heading, text))
    print(f"Wrote the {what} section of {target}")
