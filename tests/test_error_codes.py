"""Every error code the code can raise is documented in docs/ERRORS.md, and every documented one exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("shared", "api", "workers", "scheduler")
# Codes the web framework raises itself (its HTTP exception names), documented as one row.
FRAMEWORK_CODES = {"bad_request", "not_found", "method_not_allowed"}
# The category classes of shared/errors.py: their defaults are categories, not codes a client must
# know, unless a row documents one (checked the other way only).
CATEGORY_FILE = ROOT / "shared" / "errors.py"
# Functions that take a failure's code as a positional argument (a job's or a submission's error).
_CODE_ARGUMENTS = {"problem": 1, "mark_failed": 3, "fail_submission": 2, "fail_job": 2}
_CODE = re.compile(r"[a-z][a-z0-9_]*")


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and _CODE.fullmatch(node.value):
        return node.value
    return None


def codes_in_source(path: Path) -> set[str]:
    """Return the codes a file declares: ``code = "..."`` in a class body and ``code="..."`` arguments."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                targets = statement.targets if isinstance(statement, ast.Assign) else (
                    [statement.target] if isinstance(statement, ast.AnnAssign) else [])
                if any(isinstance(target, ast.Name) and target.id == "code" for target in targets):
                    found.add(_literal(statement.value) or "")
        elif isinstance(node, ast.Call):
            found.update(_literal(keyword.value) or "" for keyword in node.keywords if keyword.arg == "code")
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            position = _CODE_ARGUMENTS.get(name or "")
            if position is not None and len(node.args) > position:
                found.add(_literal(node.args[position]) or "")
        elif isinstance(node, ast.Assign):
            found.update(_assigned_error_codes(node))
    return found - {""}


def _assigned_error_codes(node: ast.Assign) -> set[str]:
    """Return the literals assigned to an ``error_code`` (alone or in a tuple assignment)."""
    pairs: list[tuple[ast.AST, ast.AST]] = []
    for target in node.targets:
        if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
            pairs.extend(zip(target.elts, node.value.elts, strict=False))
        else:
            pairs.append((target, node.value))
    return {_literal(value) or "" for target, value in pairs
            if (getattr(target, "attr", None) or getattr(target, "id", None)) == "error_code"}


def raisable_codes() -> set[str]:
    """Return every error code declared in the application's source."""
    paths = [path for folder in SOURCES for path in (ROOT / folder).rglob("*.py") if path != CATEGORY_FILE]
    return set().union(*(codes_in_source(path) for path in paths))


def documented_codes(text: str) -> set[str]:
    """Return the codes in the first column of the table(s) in ERRORS.md."""
    codes: set[str] = set()
    for line in text.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2:
            codes.update(re.findall(r"`([a-z][a-z0-9_]*)`", cells[1]))
    return codes


def test_every_raisable_error_code_is_documented_in_errors_md() -> None:
    missing = raisable_codes() - documented_codes((ROOT / "docs" / "ERRORS.md").read_text(encoding="utf-8"))

    assert not missing, f"add these codes to docs/ERRORS.md: {sorted(missing)}"


def test_every_documented_error_code_exists_in_the_code() -> None:
    documented = documented_codes((ROOT / "docs" / "ERRORS.md").read_text(encoding="utf-8"))

    # A category's own code (rate_limited, ...) is raised by the base class without a code= of its own.
    stale = documented - raisable_codes() - codes_in_source(CATEGORY_FILE) - FRAMEWORK_CODES
    assert not stale, f"docs/ERRORS.md lists codes nothing raises: {sorted(stale)}"
