"""docs/OPERATIONS.md stays in step with the code: its settings rows and its schedules."""

from __future__ import annotations

from pathlib import Path

from shared import settings as settings_module
from shared.ops.tasks import TASKS

OPERATIONS = Path(__file__).resolve().parents[3] / "docs" / "OPERATIONS.md"


def test_the_settings_rows_of_the_operations_guide_match_the_settings_module():
    generated = set(settings_module.markdown_table().splitlines())
    text = OPERATIONS.read_text()
    section = text[text.index("## Settings for operations"):]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert len(rows) >= 20
    stale = [row for row in rows if row not in generated]
    assert stale == [], "copy these rows again from `python -m shared.settings`"


def test_every_schedule_is_documented_with_its_default_cron():
    text = OPERATIONS.read_text()
    for task in TASKS.values():
        assert f"| `{task.name}` | `{task.default_cron}`" in text, task.name
