"""The project's shape: no import cycles between its modules, layers import only downwards, no grab-bag names.

The import graph is read from the source (ast), every import counted, also those deferred inside functions:
a deferred import hides a cycle from Python, not from a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "backends", "suites", "analysis")
# models -> backends -> suites -> analysis: a module may import its own layer and the ones before it.
LAYER = {name: rank for rank, name in enumerate(PACKAGES)}
GRAB_BAG_NAMES = {"more", "misc", "utils", "util", "helpers", "common_utils", "stuff"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported name refers to (a module, or the package that defines the name)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            for target in targets:
                found = _resolve(target, modules)
                if found and found != name and not name.startswith(found + "."):
                    graph[name].add(found)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_the_project_has_no_import_cycle() -> None:
    cycles = find_cycles(import_graph(project_modules()))
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def _studies(graph: dict[str, set[str]]) -> set[str]:
    """A backend's studies (suites.cli.STUDIES, and the backend modules only they import) drive cells through the
    runner as the command line does, so they sit above suites/ although they live beside their backend; suites/
    reaches them by name only. Adapters never import suites/."""
    from suites.cli import STUDIES

    studies = {module for module, _ in STUDIES.values()}
    for name in graph:
        importers = {a for a, targets in graph.items() if name in targets}
        if name.startswith("backends.") and importers and importers <= studies:
            studies.add(name)
    return studies


def test_layers_import_only_downwards() -> None:
    graph = import_graph(project_modules())
    studies = _studies(graph)
    upward = [f"{a} -> {b}" for a, targets in graph.items() for b in targets
              if LAYER[b.split(".")[0]] > LAYER[a.split(".")[0]] and a not in studies]
    assert not upward, "imports that run back up the layers: " + ", ".join(sorted(upward))
    assert studies >= {"backends.tvm.tuning_curves", "backends.tvm.deploy"}


def test_no_module_is_named_for_nothing_it_does() -> None:
    bad = [str(p.relative_to(ROOT)) for p in project_modules().values() if p.stem in GRAB_BAG_NAMES]
    assert not bad, f"rename by what they do: {bad}"


def test_no_module_is_too_long_to_read_in_one_sitting() -> None:
    long = {str(p.relative_to(ROOT)): n for p in project_modules().values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450}
    assert not long, f"split by responsibility: {long}"


@pytest.mark.parametrize("deferred", [False, True])
def test_the_cycle_finder_sees_cycles_also_through_deferred_imports(tmp_path: Path, deferred: bool) -> None:
    """The checks above can fail: a planted two-module cycle (one side importing inside a function) is found."""
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "__init__.py").write_text("")
    (tmp_path / "analysis" / "a.py").write_text("from analysis.b import g\n\ndef f():\n    return g()\n")
    body = ("def g():\n    from analysis import a\n    return a\n" if deferred
            else "from . import a\n\ndef g():\n    return a\n")
    (tmp_path / "analysis" / "b.py").write_text(body)
    modules = {".".join(p.relative_to(tmp_path).with_suffix("").parts).removesuffix(".__init__"): p
               for p in sorted((tmp_path / "analysis").rglob("*.py"))}
    assert find_cycles(import_graph(modules)) == [["analysis.a", "analysis.b"]]
