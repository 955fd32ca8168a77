"""Every backend computes every workload correctly on its tiny case, through the real isolated runner.

Each cell runs in its own subprocess exactly as in a benchmark (thread knobs, verification against the
float64 reference), so this also checks that the libraries' LLVMs never meet in one process.
TVM `tuned` and Triton have their own tests (tuning budget, interpreter mode).
Whole networks cost 10-80 s per compiled cell, so each compiler runs one convolutional network and one
transformer (XLA and TVM the small mlp too), rotated so that every network goes through at least two compilers
(and torch eager); a benchmark run verifies every other pairing, and records a failure as such.
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
# The hand-written workloads; the zoo's (tests/test_zoo.py) are too many to run on every backend here.
WORKLOADS = [name for name in workload_names() if get_workload(name).collection == ""]
MODELS = {name for name in WORKLOADS if get_workload(name).kind == "model"}
VARIANTS = [("numpy", "default"), ("torch-eager", "default"), ("inductor", "default"), ("xla", "default"),
            ("onnxruntime", "default"), ("iree", "onnx"), ("iree", "stablehlo"), ("tvm", "untuned")]
OPERATORS = [name for name in WORKLOADS if get_workload(name).kind == "operator"]
# (backend, variant) -> the whole networks it is tested on; torch eager and NumPy (which refuses them) take all.
NETWORKS = {("inductor", "default"): ("resnet18", "gpt_decoder"),
            ("xla", "default"): ("mlp", "mobilenet_v2", "bert_encoder"),
            ("onnxruntime", "default"): ("mobilenet_v2", "bert_encoder"),
            ("iree", "onnx"): ("resnet18", "gpt_decoder"),
            ("iree", "stablehlo"): ("resnet18", "bert_encoder"),
            ("tvm", "untuned"): ("mlp", "bert_encoder")}
TINY_CELLS = [(*pair, workload) for pair in VARIANTS
              for workload in (*OPERATORS, *NETWORKS.get(pair, sorted(MODELS)))]
# max-autotune benchmarks many kernel choices per op: one workload is enough to show the variant works.
EXPENSIVE = [("inductor", "max-autotune", "matmul")]


def run_tiny(backend: str, variant: str, workload: str, tmp_path: Path) -> dict:
    tiny = get_workload(workload).tiny_case
    options = CellOptions(threads=2, timeout_s=300, repeat_policy=ONCE, cache_dir=str(tmp_path / "cache"))
    return run_cell_isolated(Cell(backend, variant, workload, tiny), options)


@pytest.mark.parametrize(("backend", "variant", "workload"), TINY_CELLS)
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


def test_every_network_goes_through_two_compilers() -> None:
    for network in MODELS:
        assert sum(network in networks for networks in NETWORKS.values()) >= 2, network
    assert set(NETWORKS) | {("numpy", "default"), ("torch-eager", "default")} == set(VARIANTS)


def test_triton_is_unsupported_on_cpu_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    workload = get_workload("matmul")
    skip = get_backend("triton").skip(CellRequest(workload, workload.case("256x256x256"), "default", "cpu"))
    assert skip and skip.status == "unsupported" and "CPU" in skip.reason
