"""A backend that crashes, hangs, exhausts memory or lies costs one cell, with the right status."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from suites.matrix import Cell
from suites.runner import CellOptions, run_cell_isolated
from suites.stats import RepeatPolicy

FAST = RepeatPolicy(min_runs=3, min_time_s=0.0, max_time_s=1.0)


def run(backend: str, tmp_path: Path, **options: float) -> dict:
    opts = CellOptions(threads=1, repeat_policy=FAST, cache_dir=str(tmp_path / "cache"), **options)
    variant = "a" if backend == "fake-slow" else "default"
    return run_cell_isolated(Cell(backend, variant, "matmul", "tiny-8x16x12"), opts)


@pytest.mark.usefixtures("fake_backends")
@pytest.mark.parametrize(
    ("backend", "status", "reason_part"),
    [
        ("fake-segfault", "crash", "SIGSEGV"),
        ("fake-wrong", "wrong_result", "tolerance"),
        ("fake-compile-error", "compile_error", "lowering failed"),
        ("fake-runtime-error", "runtime_error", "kernel launch failed"),
        ("fake-exit", "crash", "exit code 3"),
        ("numpy", "ok", ""),
    ],
)
def test_failure_is_recorded_with_its_status(backend: str, status: str, reason_part: str, tmp_path: Path) -> None:
    result = run(backend, tmp_path)
    assert result["status"] == status, result
    assert reason_part in result["reason"]


@pytest.mark.usefixtures("fake_backends")
def test_hang_becomes_timeout_and_is_killed(tmp_path: Path) -> None:
    result = run("fake-hang", tmp_path, timeout_s=4.0)
    assert result["status"] == "timeout"
    assert "phase: compile" in result["reason"]
    assert result["wall_s"] < 15


@pytest.mark.usefixtures("fake_backends")
def test_memory_exhaustion_becomes_oom(tmp_path: Path) -> None:
    result = run("fake-oom", tmp_path, memory_limit_mb=600.0, timeout_s=120.0)
    assert result["status"] == "oom"
    assert result["peak_tree_rss_mb"] > 600


@pytest.mark.usefixtures("fake_backends")
def test_wrong_result_keeps_its_error_and_has_no_timing(tmp_path: Path) -> None:
    result = run("fake-wrong", tmp_path)
    assert result["verification"]["passed"] is False
    assert result["verification"]["error"] > result["verification"]["tolerance"]
    assert "timing" not in result


def test_ok_cell_has_statistics(tmp_path: Path) -> None:
    result = run("numpy", tmp_path)
    timing = result["timing"]
    assert timing["n"] >= 3
    assert timing["min_s"] <= timing["median_s"] <= timing["max_s"]
    lo, hi = timing["ci95_median_s"]
    assert lo <= timing["median_s"] <= hi
    assert result["gflops"] > 0 and result["peak_rss_mb"] > 0


@pytest.mark.usefixtures("fake_backends")
def test_cell_is_pinned_to_its_thread_count_before_imports(tmp_path: Path) -> None:
    result = run("fake-affinity", tmp_path)  # threads=1
    assert result["status"] == "ok"
    assert result["details"]["omp"] == "1"
    if len(os.sched_getaffinity(0)) > 1:
        assert result["details"]["cpus"] == result["affinity"] == [min(os.sched_getaffinity(0))]
