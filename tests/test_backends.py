"""Every backend computes every workload correctly on its tiny case, through the real isolated runner.

Each cell runs in its own subprocess exactly as in a benchmark (thread knobs, verification against the
float64 reference), so this also checks that the libraries' LLVMs never meet in one process.
TVM `tuned` and Triton have their own tests (tuning budget, interpreter mode).
The one pair `skip` refuses, NumPy on whole networks (which have no NumPy definition), is recorded as such.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import CellRequest, get_backend
from models import get_workload, workload_names
from suites.matrix import Cell
from suites.runner import CellOptions, run_cell_isolated
from suites.stats import RepeatPolicy

ONCE = RepeatPolicy(min_runs=1, min_time_s=0.0, max_time_s=1.0, floor_runs=1)
MODELS = {name for name in workload_names() if get_workload(name).kind == "model"}
VARIANTS = [("numpy", "default"), ("torch-eager", "default"), ("inductor", "default"), ("xla", "default"),
            ("onnxruntime", "default"), ("iree", "onnx"), ("iree", "stablehlo"), ("tvm", "untuned")]
# max-autotune benchmarks many kernel choices per op: one workload is enough to show the variant works.
EXPENSIVE = [("inductor", "max-autotune", "matmul")]


def run_tiny(backend: str, variant: str, workload: str, tmp_path: Path) -> dict:
    tiny = get_workload(workload).tiny_case
    options = CellOptions(threads=2, timeout_s=300, repeat_policy=ONCE, cache_dir=str(tmp_path / "cache"))
    return run_cell_isolated(Cell(backend, variant, workload, tiny), options)


@pytest.mark.parametrize("workload", workload_names())
@pytest.mark.parametrize(("backend", "variant"), VARIANTS)
def test_backend_verifies_on_tiny_case(backend: str, variant: str, workload: str, tmp_path: Path) -> None:
    if get_backend(backend).missing_requirement:
        pytest.fail(f"{backend} is not installed: the test environment must have every CPU backend")
    result = run_tiny(backend, variant, workload, tmp_path)
    if backend == "numpy" and workload in MODELS:
        assert result == {**result, "status": "unsupported", "reason": f"numpy/default compiles a numpy definition; "
                          f"{workload} has only torch, jax"} and "compile_s" not in result  # never prepared
        return
    assert result["status"] == "ok", f"{result['status']}: {result['reason']}\n{result.get('traceback', '')}"
    assert result["verification"]["passed"]
    assert result["timing"]["median_s"] > 0


@pytest.mark.parametrize(("backend", "variant", "workload"), EXPENSIVE)
def test_expensive_variant_verifies(backend: str, variant: str, workload: str, tmp_path: Path) -> None:
    result = run_tiny(backend, variant, workload, tmp_path)
    assert result["status"] == "ok", f"{result['status']}: {result['reason']}\n{result.get('traceback', '')}"
    assert result["details"]["mode"] == variant


def test_triton_is_unsupported_on_cpu_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    workload = get_workload("matmul")
    skip = get_backend("triton").skip(CellRequest(workload, workload.case("256x256x256"), "default", "cpu"))
    assert skip and skip.status == "unsupported" and "CPU" in skip.reason
