"""Run every benchmark, print a summary and write docs/BENCHMARKS.md: ``python -m bench``.

The system benchmarks are bounded through the environment (``make bench`` takes the defaults):
BENCH_QUEUE_EVENTS (500) and BENCH_QUEUE_JOBS (40) for the queue, BENCH_PAID_RUNS (5) for the paid
flow, BENCH_LOAD_MINUTES (10) and BENCH_LOAD_USERS (50) for the load (each configuration) and the
chaos run's users, BENCH_CHAOS_GAP_SECONDS (60) between two faults (the chaos run lasts about
30 + 5 x gap + 140 s).
"""

from __future__ import annotations

import argparse
import importlib
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bench import images, report, video
from bench.common import ROOT
from bench.fixtures import make_all

DEFAULT_OUT = ROOT / "docs" / "BENCHMARKS.md"


# Benchmarks of other features: each module's run() measures and returns its markdown section.
# A run() may also return its verdicts, as (section, verdicts): they join the targets table.
MARKDOWN_PARTS = ("moderation", "uploads", "queue", "polls", "paid", "load", "chaos")
PART_MODULES = {"chaos": "bench.load.chaos"}  # load and faults under load: bench/load/


def method_text(reps: int, slow_reps: int) -> str:
    return (
        f"- Each contender runs {reps} times (posters {reps + 2}; moviepy {slow_reps}, it is slow), "
        "every run in a fresh Python process started by `bench.worker`: it imports, probes and warms up "
        "untimed, then times the one call with `time.perf_counter`. Tables show the median and the range.\n"
        "- Contenders take turns: each round runs all of them once, the order rotating from round to round, "
        "so drift (heat, other load) reaches all alike; ratios of medians are the verdicts, and the ratios "
        "within each round give the spread.\n"
        "- *peak RSS* is the larger of the run's Python process peak (`VmHWM`, read by the process itself "
        "at the end: `ru_maxrss` seen from the parent would include the parent it was forked from) and "
        "`ru_maxrss` of the children it waited for (ffmpeg; a child forked from Python reports at least "
        "what it inherited before its exec, so posters show Python's size): raw, nothing subtracted. "
        "*Python peak* is that process alone, *Python before call* its peak after imports and warm-up. "
        "*CPU s* is user + system time of the process and its finished children during the call: CPU s "
        "above wall s means more than one core was busy, and CPU s is what counts when every core "
        "already has a job.\n"
        "- Fixtures are generated in a temporary folder at the start of the run and removed at the end."
    )


def cpu_counters() -> tuple[float, float, float]:
    """Return the machine's busy CPU seconds, its stolen ones, and ours (this process and its children)."""
    import psutil

    times = psutil.cpu_times()
    busy = sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq"))
    own = sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )
    return busy, getattr(times, "steal", 0.0), own


def background_text(
    before: tuple[float, float, float], after: tuple[float, float, float], elapsed: float
) -> str:
    """Describe how much CPU other processes took while the benchmark ran."""
    busy, steal, own = (b - a for a, b in zip(before, after))
    other = max(0.0, busy - own)
    cores = len(os.sched_getaffinity(0))
    return (
        f"Other processes used {other:.0f} CPU-seconds during the run ({other / elapsed / cores:.0%} of the "
        f"{cores} cores; the hypervisor stole {steal:.0f} s more): numbers move with that load, the "
        "round-robin order keeps the comparisons fair."
    )


def wait_until_quiet(limit: float, threshold: float = 0.25) -> None:
    """Wait (at most ``limit`` seconds) until other processes use under ``threshold`` of the cores.

    Quiet means two samples of 5 s in a row: test suites on a shared machine come in bursts.
    """
    cores = len(os.sched_getaffinity(0))
    deadline = time.monotonic() + limit
    quiet = 0
    while True:
        before = cpu_counters()
        time.sleep(5)
        busy, _, own = (b - a for a, b in zip(before, cpu_counters()))
        share = max(0.0, busy - own) / 5 / cores
        quiet = quiet + 1 if share < threshold else 0
        if quiet >= 2 or time.monotonic() >= deadline:
            print(f"Other processes use {share:.0%} of the cores; starting", flush=True)
            return
        print(f"Other processes use {share:.0%} of the cores; waiting for a quieter moment", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--reps", type=int, default=7, help="runs per contender (default 7)")
    parser.add_argument("--slow-reps", type=int, default=2, help="runs of moviepy (default 2)")
    parser.add_argument("--only", choices=["images", "video", *MARKDOWN_PARTS],
                        help="run one part (then nothing is written)")
    parser.add_argument("--out", type=Path, help=f"markdown report (default {DEFAULT_OUT.relative_to(ROOT)})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for other processes to use under 25%% of the cores",
    )
    options = parser.parse_args()
    out = options.out or (None if options.only else DEFAULT_OUT)
    if options.wait_idle > 0:
        wait_until_quiet(options.wait_idle)

    started = time.monotonic()
    load_before = os.getloadavg()
    cpu_before = cpu_counters()
    machine = report.machine_info()
    folder = Path(tempfile.mkdtemp(prefix="showreel-bench-"))
    try:
        print(f"Generating fixtures in {folder}", flush=True)
        fixtures = make_all(folder / "fixtures")
        verdicts, sections, summary = [], [], []
        if options.only in (None, "images"):
            image_results = images.run(fixtures, folder / "images", options.reps)
            verdicts += image_results.verdicts
            sections.append(images.report(image_results))
            summary += images.summary(image_results)
        if options.only in (None, "video"):
            video_results = video.run(fixtures, folder / "video", options.reps, options.slow_reps)
            verdicts += video_results.verdicts
            sections.append(video.report(video_results))
            summary += video.summary(video_results)
        for name in MARKDOWN_PARTS:
            if options.only in (None, name):
                print(f"Running the {name} benchmark", flush=True)
                part = importlib.import_module(PART_MODULES.get(name, f"bench.{name}")).run()
                if isinstance(part, tuple):
                    part, part_verdicts = part
                    verdicts += part_verdicts
                sections.append(part)
    finally:
        if options.keep:
            print(f"Kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    elapsed = time.monotonic() - started
    background = background_text(cpu_before, cpu_counters(), elapsed)

    print()
    for line in summary:
        print(line)
    print()
    print(report.targets_table(verdicts))
    print(f"\n{machine['CPU']}, {machine['Cores (usable / online)']} cores; took {elapsed / 60:.1f} min")
    print(background)
    if out is not None:
        text = report.document(
            machine,
            verdicts,
            sections,
            method_text(options.reps, options.slow_reps),
            (load_before, os.getloadavg()),
            elapsed,
            background,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"Wrote {out}")


if __name__ == "__main__":
    main()
