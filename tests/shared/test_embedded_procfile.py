"""``make run`` reads the Procfile with honcho's own parser, so it runs exactly what honcho would."""

from __future__ import annotations

from pathlib import Path

from shared.embedded import ROOT, procfile_entries


def test_embedded_procfile_is_parsed_by_honcho_rules(tmp_path: Path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("# processes\nweb: gunicorn --bind ${HOST:-127.0.0.1}:${PORT:-8000} app\n"
                        "not a process line\nbad name: echo no\n  relay:python -m workers relay\nempty:\n")

    assert procfile_entries(procfile) == [("web", "gunicorn --bind ${HOST:-127.0.0.1}:${PORT:-8000} app")]


def test_embedded_procfile_lists_every_process_of_the_repository():
    names = [name for name, _ in procfile_entries(ROOT / "Procfile")]

    assert names == ["web", "relay", "dispatcher", "worker-video", "worker-media", "worker-light", "scheduler"]
