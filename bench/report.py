"""The machine description and docs/BENCHMARKS.md."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path

from bench.common import Verdict, markdown_table
from shared.media.ffmpeg import ffmpeg_path
from shared.settings import Settings


def machine_info() -> dict[str, str]:
    """Describe the machine and the library versions the numbers depend on."""
    import av
    import PIL
    import pyvips
    from PIL import features

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        memory = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        memory = "unknown"
    ffmpeg = ffmpeg_path(Settings.from_env({}))
    ffmpeg_version = subprocess.run(
        [ffmpeg, "-hide_banner", "-version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[0].split(" Copyright")[0]
    return {
        "Date (UTC)": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
        "CPU": cpu,
        "Cores (usable / online)": f"{len(os.sched_getaffinity(0))} / {os.cpu_count()}",
        "Memory": memory,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "Pillow": f"{PIL.__version__} (libjpeg-turbo {features.version('libjpeg_turbo')}, "
        f"libwebp {features.version('webp')})",
        "pyvips / libvips": f"{importlib.metadata.version('pyvips')} / "
        f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}",
        "ffmpeg": f"{ffmpeg_version} (`{Path(ffmpeg).name}`)",
        "PyAV": av.__version__,
        "moviepy": importlib.metadata.version("moviepy"),
    }


def targets_table(verdicts: Sequence[Verdict]) -> str:
    return markdown_table(
        ["target (SPEC 11)", "goal", "measured", "result", "spread"],
        [[v.name, v.goal, v.measured, f"**{v.status}**", v.note] for v in verdicts],
    )


def document(
    machine: dict[str, str],
    verdicts: Sequence[Verdict],
    sections: Sequence[str],
    method: str,
    load: tuple[tuple[float, ...], tuple[float, ...]],
    elapsed: float,
    background: str,
) -> str:
    """Return the whole docs/BENCHMARKS.md."""
    before, after = load
    lines = [
        "# Benchmarks",
        "",
        ("Written by `python -m bench` (`make bench`); do not edit by hand, run it again. The numbers below "
         "come from one run on the machine described here; every ratio compares contenders of that same run."),
        "",
        markdown_table(["machine", ""], [[k, v] for k, v in machine.items()]),
        "",
        (f"Load average before / after the run: {', '.join(f'{x:.2f}' for x in before)} / "
         f"{', '.join(f'{x:.2f}' for x in after)}; the run took {elapsed / 60:.1f} min. {background}"),
        "",
        "## Targets",
        "",
        targets_table(verdicts),
        "",
        ("*missed, within noise*: the median misses the goal by less than 10% and some runs are on the "
         "other side of it. "
         "*spread*: the range of per-round ratios (contenders of a round run back to back) or of run times."),
        "",
        "## Method",
        "",
        method,
    ]
    for section in sections:
        lines += ["", section]
    return "\n".join(lines) + "\n"
