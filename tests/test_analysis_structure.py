"""The shape a newcomer can rely on: no import cycles (deferred imports included), one module per concern under a
name that says what it does, one bootstrap (suites/stats.py), data flowing one way (suites never import analysis)."""

from __future__ import annotations

import ast
from pathlib import Path

from suites.machine import REPO_ROOT

PACKAGES = ("analysis", "suites")
VAGUE_NAMES = {"more", "misc", "utils", "util", "helpers", "common", "stuff"}


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(REPO_ROOT).with_suffix("").parts): p
            for package in PACKAGES for p in sorted((REPO_ROOT / package).glob("*.py"))}


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every project module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n for n in names if n in known}
    return found


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for nxt in sorted(graph[name]):
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join([*path[path.index(nxt):], nxt])
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_data_flows_one_way() -> None:
    for name, path in _modules().items():
        if name.startswith("suites."):
            assert not any(i.startswith("analysis") for i in _imports(path, set(_modules()))), name


def test_names_say_what_modules_do_and_modules_stay_small() -> None:
    for folder in ("analysis", "suites", "backends", "models", "tests"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            assert path.stem not in VAGUE_NAMES, path
    for path in (REPO_ROOT / "analysis").glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path
    assert not (REPO_ROOT / "analysis" / "synthetic.py").exists()  # a test fixture lives in tests/


def test_one_bootstrap() -> None:
    """Only suites/stats.py draws resamples: the analysis has no random numbers of its own."""
    for path in (REPO_ROOT / "analysis").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "default_rng" not in text and "np.random" not in text, path


def test_site_assets_have_one_source() -> None:
    """style.css and site.js are files under analysis/assets/, not also Python strings."""
    for name in ("site.js", "style.css"):
        assert (REPO_ROOT / "analysis" / "assets" / name).is_file()
    for path in (REPO_ROOT / "analysis").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "Plotly.newPlot" not in text and "border-collapse" not in text, path
