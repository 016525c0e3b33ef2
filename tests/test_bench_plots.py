"""A trial run of the load or chaos benchmark (``--no-write``) leaves the committed plots alone.

The section is printed instead of written into docs/BENCHMARKS.md, and its plots, which the
section links, go to a folder of their own: before, they overwrote docs/load-*.png, so a
trial run left the committed plots out of step with the committed section.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import bench.load.__main__ as load_main
from bench.load import DOCS, chaos


class Recorder:
    """Stands in for a benchmark's ``run``: records where the plots were sent."""

    def __init__(self) -> None:
        self.plots: Path | None = None

    def __call__(self, *args, plots: Path = DOCS, **kwargs) -> tuple[str, list]:
        self.plots = plots
        return "## the section\n", []


@pytest.mark.parametrize("module", [load_main, chaos], ids=["load", "chaos"])
def test_no_write_sends_the_plots_outside_docs(monkeypatch, capsys, module) -> None:
    recorder = Recorder()
    monkeypatch.setattr(module, "run", recorder)
    monkeypatch.setattr(sys, "argv", [module.__name__, "--no-write"])
    before = (DOCS / "BENCHMARKS.md").read_bytes()
    module.main()
    try:
        assert recorder.plots is not None and recorder.plots.is_dir()
        assert DOCS not in (recorder.plots, *recorder.plots.parents)
        out = capsys.readouterr().out
        assert "## the section" in out and str(recorder.plots) in out
        assert (DOCS / "BENCHMARKS.md").read_bytes() == before
    finally:
        if recorder.plots not in (None, DOCS):
            recorder.plots.rmdir()  # empty: the stand-in plots nothing


@pytest.mark.parametrize("module", [load_main, chaos], ids=["load", "chaos"])
def test_a_written_run_sends_the_plots_to_docs(monkeypatch, module) -> None:
    recorder = Recorder()
    monkeypatch.setattr(module, "run", recorder)
    monkeypatch.setattr(sys, "argv", [module.__name__])
    written = {}
    monkeypatch.setattr(Path, "write_text", lambda self, text, *a, **k: written.setdefault(self, text))
    module.main()
    assert recorder.plots == DOCS
    assert list(written) == [DOCS / "BENCHMARKS.md"]
