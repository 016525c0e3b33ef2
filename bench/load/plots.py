"""PNG plots of a load run over time: throughput, latency, queue age, web RSS (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from bench.common import MB
from bench.load.analysis import STREAM_ROUTES
from bench.load.runner import LoadRun

BUCKET = 10.0  # seconds per point


def _buckets(times: list[float], origin: float, end: float) -> np.ndarray:
    return np.arange(0, max(end - origin, BUCKET) + BUCKET, BUCKET)


def plot_run(run: LoadRun, path: Path, title: str) -> Path:
    """Write a four-panel PNG of ``run``; fault windows (chaos) are shaded and labelled."""
    origin = run.run["started"]
    end = max([run.run["ended"], *(s["t"] for s in run.samples)])
    edges = _buckets([], origin, end)
    figure, axes = plt.subplots(4, 1, figsize=(10, 11), sharex=True)

    done = [j["final"] - origin for j in run.jobs if j["final"] and j["status"] == "done"]
    counts, _ = np.histogram(done, bins=edges)
    requests = [r["t"] - origin for r in run.requests]
    per_second, _ = np.histogram(requests, bins=edges)
    axes[0].plot(edges[:-1], counts * 60 / BUCKET, label="jobs done per minute")
    twin = axes[0].twinx()
    twin.plot(edges[:-1], per_second / BUCKET, color="tab:gray", alpha=0.6, label="requests per second")
    axes[0].set_ylabel("jobs / min")
    twin.set_ylabel("requests / s")
    axes[0].legend(loc="upper left")
    twin.legend(loc="upper right")

    latencies = [(r["t"] - origin, r["ms"]) for r in run.requests if r["status"] and r["route"] not in STREAM_ROUTES]
    index = np.digitize([t for t, _ in latencies], edges) - 1
    for q, style in ((50, "-"), (95, "--"), (99, ":")):
        series = [np.percentile([ms for (_, ms), i in zip(latencies, index) if i == b], q)
                  if np.any(index == b) else np.nan for b in range(len(edges) - 1)]
        axes[1].plot(edges[:-1], series, style, label=f"p{q}")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("API latency ms")
    axes[1].legend(loc="upper left")

    times = [s["t"] - origin for s in run.samples]
    axes[2].plot(times, [s["queue_age"] if s["queue_age"] is not None else np.nan for s in run.samples],
                 label="oldest queued job")
    axes[2].plot(times, [s["outbox_age"] if s["outbox_age"] is not None else np.nan for s in run.samples],
                 label="oldest unpublished outbox event")
    axes[2].set_ylabel("queue age s")
    axes[2].legend(loc="upper left")

    axes[3].plot(times, [(s["web_rss"] or np.nan) / MB for s in run.samples], label="web, all processes")
    axes[3].plot(times, [(s["web_worker_rss_max"] or np.nan) / MB for s in run.samples], label="largest web worker")
    axes[3].set_ylabel("RSS MB")
    axes[3].set_xlabel("seconds since the load started")
    axes[3].legend(loc="upper left")

    for event in run.events:
        for axis in axes:
            axis.axvspan(event["start"] - origin, event["end"] - origin, color="tab:red", alpha=0.12)
        axes[0].annotate(event["label"], (event["start"] - origin, 0), xycoords=("data", "axes fraction"),
                         rotation=90, fontsize=7, va="bottom")
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path
