"""Compile once per cell: the artifacts a cell's first process builds and its later processes load.

A cell is timed in several independent processes (suites/rounds.py). Compiling in each would triple the run's
time, so a backend that has an artifact of its own (an ONNX export, IREE's .vmfb, TVM's shared library) writes
it to the cell's `artifact_dir` in the first process, and the later processes load it. The record keeps the
first process's compile time: the cold compile. Inductor reuses its own on-disk caches the same way
(TORCHINDUCTOR_CACHE_DIR points into the cell's artifact_dir, set by the runner), so the first process compiles
cold even when an earlier run compiled the same graph.

Work done only for the record (an artifact's size, a node count) is timed apart from compile_s with
`bookkeeping`, so compile_s holds what a user's compile costs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BOOKKEEPING = "bookkeeping_s"


def reusable(directory: Path | None, name: str) -> Path | None:
    """The artifact `name` if an earlier process of this cell finished writing it (never without a cell's
    artifact_dir: a task made outside the runner compiles afresh)."""
    path = directory / name if directory is not None else None
    return path if path is not None and path.exists() else None


@contextlib.contextmanager
def writing(directory: Path | None, name: str, fallback: Path) -> Iterator[Path]:
    """A path to write the artifact `name` to (in `fallback`, the process's own workdir, without an artifact_dir);
    it appears under its name only once complete (a process killed half-way leaves nothing to load)."""
    directory = directory if directory is not None else fallback
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    partial = directory / f".{name}.partial{final.suffix}"
    yield partial
    if partial.exists():
        partial.replace(final)


@contextlib.contextmanager
def bookkeeping(details: dict[str, Any]) -> Iterator[None]:
    """Time work done only for the record; the cell subtracts details["bookkeeping_s"] from compile_s."""
    start = time.perf_counter()
    try:
        yield
    finally:
        details[BOOKKEEPING] = details.get(BOOKKEEPING, 0.0) + time.perf_counter() - start
