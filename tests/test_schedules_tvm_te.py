"""The TVM schedule ladder: every step and sweep variant verifies on small shapes, and its TIR shows the step."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import CellRequest, get_backend
from backends.tvm import te_schedules as ladder
from models import get_workload
from suites.matrix import Cell
from suites.runner import CellOptions, run_cell_isolated
from suites.stats import RepeatPolicy
from tests.schedule_helpers import THREADS, prepare_and_verify, small_cases

backend = get_backend("tvm-te")
pytestmark = pytest.mark.skipif(backend.missing_requirement is not None, reason=str(backend.missing_requirement))
MATMUL_VARIANTS = [*ladder.MATMUL_STEPS, "tile16", "tile128", "best-serial", "best-parallel"]


@pytest.fixture(autouse=True)
def tvm_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in backend.thread_env(THREADS).items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize("variant", MATMUL_VARIANTS)
def test_matmul_variant_verifies(variant: str, tmp_path: Path) -> None:
    for case in small_cases("matmul"):
        prepared, verdict = prepare_and_verify("tvm-te", variant, "matmul", case, tmp_path)
        assert verdict.passed, f"{variant} on {case.label}: {verdict.detail}"
        assert "T.prim_func" in prepared.details["tir"]


@pytest.mark.parametrize("step", ladder.CONV_STEPS)
def test_conv2d_step_verifies(step: str, tmp_path: Path) -> None:
    for case in small_cases("conv2d"):
        _, verdict = prepare_and_verify("tvm-te", step, "conv2d", case, tmp_path)
        assert verdict.passed, f"{step} on {case.label}: {verdict.detail}"


def test_tir_shows_each_steps_transformation(tmp_path: Path) -> None:
    case = get_workload("matmul").case("64x64x64")
    tir = {s: prepare_and_verify("tvm-te", s, "matmul", case, tmp_path)[0].details["tir"] for s in ladder.MATMUL_STEPS}
    assert "T.vectorized" not in tir["reorder"] and "T.vectorized" in tir["vectorize"]
    assert "T.parallel" not in tir["vectorize"] and "T.parallel" in tir["parallel"]
    assert "T.unroll" not in tir["parallel"] and "T.unroll" in tir["unroll"]
    assert "B_pack" not in tir["unroll"] and "B_pack" in tir["pack"]
    assert "C_global" not in tir["pack"] and "C_global" in tir["cache"]
    assert "for i, j, k in" in tir["naive"]
    assert "for i_0, i_1, j_0, j_1, k_0, k_1 in" in tir["tile"]  # split only: the same iteration order
    assert "for i_0, j_0, k_0, i_1, k_1, j_1 in" in tir["reorder"]
    serial = prepare_and_verify("tvm-te", "best-serial", "matmul", case, tmp_path)[0].details
    assert "T.parallel" not in serial["tir"] and serial["parallel"] is False


def test_variants_for_each_study_case() -> None:
    matmul, conv = get_workload("matmul"), get_workload("conv2d")
    on_1024 = backend.variants_for(matmul, matmul.case("1024x1024x1024"))
    assert set(ladder.MATMUL_STEPS) <= set(on_1024) and "tile64" in on_1024 and "best-serial" in on_1024
    assert backend.variants_for(matmul, matmul.case("64x64x64")) == ("best-serial", "best-parallel")
    assert "tile64" not in backend.variants_for(matmul, matmul.case("512x512x512"))
    assert backend.variants_for(conv, conv.case("1x64x56x56-o64-s1")) == ladder.CONV_STEPS
    assert set(backend.variants) >= {v for c in matmul.cases for v in backend.variants_for(matmul, c)}
    assert backend.skip(CellRequest(conv, conv.case("1x64x56x56-o64-s1"), "pack", "cpu"))
    assert backend.skip(CellRequest(get_workload("softmax"), get_workload("softmax").cases[0], "naive", "cpu"))
    assert backend.capabilities.suites == ("schedules",)


def test_runs_through_the_isolated_runner(tmp_path: Path) -> None:
    options = CellOptions(threads=THREADS, timeout_s=300, cache_dir=str(tmp_path / "cache"),
                          repeat_policy=RepeatPolicy(min_runs=1, min_time_s=0.0, max_time_s=1.0, floor_runs=1))
    result = run_cell_isolated(Cell("tvm-te", "cache", "matmul", "64x64x64"), options)
    assert result["status"] == "ok", result.get("reason")
    assert result["details"]["step"] == "cache" and "T.parallel" in result["details"]["tir"]
