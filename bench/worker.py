"""Run one contender once in a fresh interpreter: ``python -m bench.worker module:factory '{json}' out.json``.

The factory does the untimed part (imports, probing, warm-up) and returns the call to time.
"""

from __future__ import annotations

import gc
import importlib
import json
import resource
import sys
import time
from pathlib import Path


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _own_peak_rss() -> int:
    """Return this process's peak RSS in bytes since its exec (VmHWM).

    Not ru_maxrss: across fork and exec that keeps the peak of the process that started us.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(argv: list[str]) -> None:
    entry, raw_kwargs, result_path = argv
    module_name, factory_name = entry.split(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    call = factory(**json.loads(raw_kwargs))
    gc.collect()
    setup_rss = _own_peak_rss()
    cpu_before = _cpu_seconds()
    start = time.perf_counter()
    call()
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu_before
    # ru_maxrss of the children we waited for (ffmpeg): they were forked from this process, so whatever
    # they inherited before their exec is at most our own peak.
    children_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "setup_rss": setup_rss,
        "own_rss": _own_peak_rss(),
        "children_rss": children_rss,
    }
    Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
