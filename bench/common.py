"""Measuring: one contender run per fresh subprocess, round-robin order, medians and verdicts."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


@dataclass
class Sample:
    seconds: float  # wall time of the timed call only
    cpu_seconds: float  # user + system of the process and its finished children during the call
    own_rss: int  # bytes: peak RSS of the Python process of the run
    children_rss: int  # bytes: largest peak RSS among the children it started (ffmpeg), 0 if none
    setup_rss: int  # bytes: peak RSS of the Python process before the timed call (imports, warm-up)

    @property
    def peak_rss(self) -> int:
        """The largest single process of the run (what ru_maxrss of process + children reports)."""
        return max(self.own_rss, self.children_rss)


@dataclass
class Contender:
    key: str
    label: str
    entry: str  # "module:factory", run by bench.worker
    reps: int
    kwargs: dict[str, Any] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(s.cpu_seconds for s in self.samples)

    @property
    def peak_rss(self) -> float:
        return statistics.median(s.peak_rss for s in self.samples)

    @property
    def own_rss(self) -> float:
        return statistics.median(s.own_rss for s in self.samples)

    @property
    def setup_rss(self) -> float:
        return statistics.median(s.setup_rss for s in self.samples)

    @property
    def spread(self) -> tuple[float, float]:
        times = [s.seconds for s in self.samples]
        return min(times), max(times)


def run_isolated(entry: str, kwargs: dict[str, Any]) -> Sample:
    """Run ``entry`` in a fresh interpreter (bench.worker) and return its timing and peak RSS."""
    with tempfile.NamedTemporaryFile(prefix="bench-result-", suffix=".json", delete=False) as fh:
        result_path = fh.name
    try:
        # The worker measures its own peak: ru_maxrss seen from here would include this (big) process,
        # which the child was forked from.
        subprocess.run(
            [sys.executable, "-m", "bench.worker", entry, json.dumps(kwargs), result_path],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            check=True,
        )
        result = json.loads(Path(result_path).read_text())
    finally:
        os.unlink(result_path)
    return Sample(**result)


def round_robin(
    contenders: Sequence[Contender],
    prepare: Callable[[Contender, int], dict[str, Any]] | None = None,
    cleanup: Callable[[Contender, int], None] | None = None,
) -> None:
    """Run every contender ``reps`` times, rotating the order each round so drift hits all alike.

    ``prepare(contender, round)`` returns per-run arguments (fresh output folders) merged over the
    contender's own; ``cleanup`` runs after each run.
    """
    rounds = max(c.reps for c in contenders)
    for index in range(rounds):
        shift = index % len(contenders)
        for contender in [*contenders[shift:], *contenders[:shift]]:
            if len(contender.samples) >= contender.reps:
                continue
            kwargs = {**contender.kwargs, **(prepare(contender, index) if prepare else {})}
            sample = run_isolated(contender.entry, kwargs)
            contender.samples.append(sample)
            print(
                f"  {contender.label:<52} run {index + 1}: {sample.seconds:7.3f} s "
                f"{sample.peak_rss / MB:7.1f} MB",
                flush=True,
            )
            if cleanup:
                cleanup(contender, index)


def paired_ratios(a: Contender, b: Contender) -> list[float]:
    """Return a/b time ratios of runs made in the same round (adjacent in time)."""
    return [x.seconds / y.seconds for x, y in zip(a.samples, b.samples)]


@dataclass
class Verdict:
    name: str
    goal: str
    measured: str
    status: str  # "pass", "MISSED", or "missed, within noise"
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"


# A median that misses by less than this fraction, while some runs pass, is reported as within noise.
NOISE_MARGIN = 0.10


def judge(value: float, limit: float, runs: Sequence[float], *, at_most: bool) -> str:
    """Return "pass", "missed, within noise" (close, and some runs pass) or "MISSED"."""
    if value <= limit if at_most else value >= limit:
        return "pass"
    close = value <= limit * (1 + NOISE_MARGIN) if at_most else value >= limit * (1 - NOISE_MARGIN)
    some_pass = any(r <= limit if at_most else r >= limit for r in runs)
    return "missed, within noise" if close and some_pass else "MISSED"


def ratio_verdict(
    name: str, goal: str, ratio: float, limit: float, *, at_most: bool, paired: Sequence[float] = ()
) -> Verdict:
    """Judge ``ratio`` (of medians) against ``limit``; ``paired`` are the per-round ratios."""
    note = f"paired runs {min(paired):.2f}-{max(paired):.2f}" if paired else ""
    return Verdict(name, goal, f"{ratio:.2f}x", judge(ratio, limit, paired, at_most=at_most), note)


def fmt_mb(value: float) -> str:
    return f"{value / MB:.0f}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Return a GitHub markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def contender_rows(contenders: Sequence[Contender], baseline: Contender) -> list[list[str]]:
    """Rows of time, spread, CPU, RSS and the ratios to ``baseline`` (ours)."""
    rows = []
    for c in contenders:
        low, high = c.spread
        rows.append(
            [
                c.label,
                str(len(c.samples)),
                f"{c.seconds:.3f}",
                f"{low:.3f}-{high:.3f}",
                f"{c.cpu_seconds:.2f}",
                fmt_mb(c.peak_rss),
                fmt_mb(c.own_rss),
                fmt_mb(c.setup_rss),
                f"{c.seconds / baseline.seconds:.2f}x",
                f"{c.peak_rss / baseline.peak_rss:.2f}x",
            ]
        )
    return rows


CONTENDER_HEADERS = [
    "contender",
    "runs",
    "median s",
    "min-max s",
    "CPU s",
    "peak RSS MB",
    "Python peak MB",
    "Python before call MB",
    "time / ours",
    "RSS / ours",
]
