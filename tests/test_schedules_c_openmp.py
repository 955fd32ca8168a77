"""The C + OpenMP baseline: both kernels verify (edges included) and run through the isolated runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import CellRequest, get_backend
from models import get_workload
from suites.matrix import Cell
from suites.runner import CellOptions, run_cell_isolated
from suites.stats import RepeatPolicy
from tests.schedule_helpers import THREADS, prepare_and_verify, small_cases

backend = get_backend("c-openmp")
pytestmark = pytest.mark.skipif(backend.missing_requirement is not None, reason=str(backend.missing_requirement))


@pytest.mark.parametrize("variant", ["naive", "tiled"])
def test_kernel_verifies(variant: str, tmp_path: Path) -> None:
    for case in small_cases("matmul"):
        prepared, verdict = prepare_and_verify("c-openmp", variant, "matmul", case, tmp_path)
        assert verdict.passed, f"{variant} on {case.label}: {verdict.detail}"
        assert prepared.details["cc_s"] > 0 and "-fopenmp" in prepared.details["cflags"]


def test_isolated_cell_and_reasons(tmp_path: Path) -> None:
    options = CellOptions(threads=THREADS, timeout_s=120, cache_dir=str(tmp_path / "cache"),
                          repeat_policy=RepeatPolicy(min_runs=1, min_time_s=0.0, max_time_s=1.0, floor_runs=1))
    result = run_cell_isolated(Cell("c-openmp", "tiled", "matmul", "128x128x128"), options)
    assert result["status"] == "ok", result.get("reason")
    assert result["compile_s"] >= result["details"]["cc_s"] > 0  # gcc's time is inside the timed prepare
    conv = get_workload("conv2d")
    assert backend.skip(CellRequest(conv, conv.cases[0], "naive", "cpu"))
    assert backend.thread_env(3) == {"OMP_NUM_THREADS": "3"}
