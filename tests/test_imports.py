"""The shared packages import each other one way only, and each imports on its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / "shared"


def module_name(path: Path, root: Path) -> str:
    """Return the dotted name of a source file under ``root`` (a package is its ``__init__``)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - node.level + 1]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    # ``from shared.media import video`` imports the module shared.media.video too.
    return [source, *(f"{source}.{alias.name}" for alias in node.names)]


def imports_of(path: Path, root: Path, *, function_local: bool) -> set[str]:
    """Return the ``shared`` modules a file imports at import time (``function_local``: inside functions too).

    Imports under ``if TYPE_CHECKING:`` never run and are left out.
    """
    module = module_name(path, root)
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.update(name for name in _imported(child, module, is_package)
                             if name == "shared" or name.startswith("shared."))
            elif function_local or not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def package_of(module: str) -> str:
    """Return the package of ``shared.<package>...`` (a top-level module is a package of its own)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def package_graph(root: Path) -> dict[str, set[str]]:
    """Map each shared package to the shared packages its module-level imports reach."""
    graph: dict[str, set[str]] = {}
    for path in sorted((root / "shared").rglob("*.py")):
        source = package_of(module_name(path, root))
        graph.setdefault(source, set())  # a package that imports no other is still a node
        for target in imports_of(path, root, function_local=False):
            if package_of(target) not in (source, "shared"):
                graph[source].add(package_of(target))
    return dict(graph)


def dependency_order(graph: dict[str, set[str]]) -> list[str]:
    """Return the nodes with each one after everything it imports; raise CycleError on a loop."""
    return list(TopologicalSorter(graph).static_order())


def test_shared_packages_import_each_other_one_way_only() -> None:
    try:
        dependency_order(package_graph(ROOT))
    except CycleError as exc:
        pytest.fail(f"shared packages import each other in a loop: {' -> '.join(exc.args[1])}")


def _modules_of(package: str) -> list[str]:
    folder = ROOT / Path(*package.split("."))
    paths = sorted(folder.rglob("*.py")) if folder.is_dir() else [folder.with_suffix(".py")]
    # A __main__ module is a command: importing it would run it.
    return [module_name(path, ROOT) for path in paths if path.stem != "__main__"]


@pytest.mark.parametrize("package", dependency_order(package_graph(ROOT)))
def test_each_shared_package_imports_on_its_own_in_a_fresh_interpreter(package: str) -> None:
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    done = subprocess.run([sys.executable, "-c", script, *_modules_of(package)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr[-3000:]
