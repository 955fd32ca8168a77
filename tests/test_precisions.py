"""Precisions on the CPU: input and weight rounding, per-precision tolerances, and --dtype through cell and CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backends.base import Prepared, Task
from backends.precision import (
    PRECISIONS,
    get_precision,
    range_reason,
    round_inputs,
    round_model_weights,
    round_to_bfloat16,
)
from backends.torch_eager import TorchEagerBackend
from models import get_workload
from suites.machine import REPO_ROOT
from suites.matrix import Cell, Selection, SelectionError, resolve
from suites.results import read_records
from suites.runner import CellOptions, run_cell_isolated
from suites.stats import RepeatPolicy
from suites.tolerance import TOLERANCE_CAP, epsilon, tolerance, verify

ONCE = RepeatPolicy(min_runs=1, min_time_s=0.0, max_time_s=1.0, floor_runs=1)
FAKE = "fake-half-wrong=tests.test_precisions:HalfWrongBackend"


class HalfWrongBackend(TorchEagerBackend):
    """torch eager in the cell's precision, then one element off by a quarter of the output's scale."""

    name = "fake-half-wrong"

    def prepare(self, task: Task) -> Prepared:
        prepared = super().prepare(task)
        fetch = prepared.fetch

        def wrong(out: Any) -> np.ndarray:
            values = fetch(out).copy()
            values.flat[0] += 0.25 * float(np.max(np.abs(values)))
            return values

        return Prepared(run=prepared.run, fetch=wrong, details=prepared.details)


def test_bfloat16_rounding_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(50_000) * np.exp2(rng.integers(-20, 20, 50_000))).astype(np.float32)
    # Exact ties between two bfloat16 neighbours round to the even one.
    ties = np.array([1.0 + 2.0**-8, 1.0 + 3 * 2.0**-8, -(1.0 + 2.0**-8)], dtype=np.float32)
    for a in (x, ties):
        expected = torch.from_numpy(a).to(torch.bfloat16).float().numpy()
        np.testing.assert_array_equal(round_to_bfloat16(a), expected)
    assert round_to_bfloat16(ties)[0] == 1.0 and round_to_bfloat16(ties)[1] == 1.0 + 2.0**-6


def test_inputs_are_rounded_to_the_storage_type() -> None:
    a = np.random.default_rng(1).standard_normal((7, 9)).astype(np.float32)
    assert round_inputs((a,), "float32")[0] is a and round_inputs((a,), "tf32")[0] is a
    half = round_inputs((a,), "float16")[0]
    assert half.dtype == np.float32 and np.array_equal(half, a.astype(np.float16).astype(np.float32))
    bf16 = round_inputs((a,), "bfloat16")[0]
    assert bf16.dtype == np.float32 and np.array_equal(round_to_bfloat16(bf16), bf16)
    assert 0 < np.max(np.abs(bf16 - a) / np.abs(a)) <= 2.0**-8


def test_model_weights_are_rounded_in_place_for_low_precisions() -> None:
    torch = pytest.importorskip("torch")
    workload = get_workload("mlp")
    case = workload.case(workload.tiny_case)
    module = workload.torch_module(case)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    try:
        round_model_weights(workload, case, "float32")
        assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
        round_model_weights(workload, case, "bfloat16")
        weight = next(module.parameters())
        assert weight.dtype == torch.float32 and torch.equal(weight, weight.to(torch.bfloat16).float())
        assert not torch.equal(weight, before[next(iter(module.state_dict()))])
        assert np.array_equal(workload.params(case)[next(iter(before))], weight.numpy())  # JAX sees them too
    finally:
        module.load_state_dict(before)  # the module is cached for this test process


def test_tolerance_per_precision() -> None:
    eps32 = float(np.finfo(np.float32).eps)
    assert epsilon("float32") == eps32 and epsilon(np.dtype(np.float32)) == eps32
    assert (epsilon("float16"), epsilon("tf32"), epsilon("bfloat16")) == (2.0**-10, 2.0**-10, 2.0**-7)
    assert tolerance(4096, "float32") == 16 * 64 * eps32  # float32 unchanged by the cap
    assert tolerance(1024, "float64") == pytest.approx(16 * 32 * float(np.finfo(np.float64).eps))
    # The floor 64 * eps is already 1/16 for float16 and tf32 and above it for bfloat16: every one is the cap.
    for name in ("float16", "tf32", "bfloat16"):
        assert tolerance(1, name) == tolerance(4096, name) == TOLERANCE_CAP == 2.0**-4
    assert set(PRECISIONS) == {"float32", "tf32", "float16", "bfloat16"}
    assert get_precision("float16").bytes_scale == 0.5 and get_precision("tf32").bytes_scale == 1.0


def test_verify_float16_accepts_rounding_and_rejects_real_errors() -> None:
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal(s).astype(np.float16).astype(np.float32) for s in ((32, 256), (256, 16)))
    ref = a.astype(np.float64) @ b.astype(np.float64)
    out = (ref.astype(np.float16)).astype(np.float32)  # float32 accumulation, one rounding of the output
    assert verify(out, ref, 256, "float16").passed
    assert not verify(out, ref, 256, "float32").passed  # half-precision rounding is far outside float32's
    assert not verify(a[:, :128] @ b[:128], ref, 256, "float16").passed  # half the reduction missing
    assert not verify(out.T.copy().reshape(out.shape), ref, 256, "float16").passed


def _run(backend: str, dtype: str, workload: str = "matmul", variant: str = "default") -> dict[str, Any]:
    w = get_workload(workload)
    options = CellOptions(threads=1, timeout_s=300, repeat_policy=ONCE, dtype=dtype, cache_dir="unused")
    return run_cell_isolated(Cell(backend, variant, workload, w.tiny_case), options)


def test_float16_torch_eager_cell_verifies_with_the_float16_tolerance() -> None:
    result = _run("torch-eager", "float16")
    assert result["status"] == "ok", result.get("traceback", result["reason"])
    check = result["verification"]
    assert check["passed"] and check["tolerance"] == tolerance(16, "float16")
    # A float16 output is off by its own rounding (~2^-11), far more than float32 arithmetic would be.
    assert 1e-5 < check["error"] < 2.0**-9
    assert "device_timing" not in result and "gpu_memory" not in result  # CPU cells keep the CPU timing path


def test_float16_cell_with_a_wrong_result_fails_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCOMPARE_EXTRA_BACKENDS", FAKE)
    result = _run("fake-half-wrong", "float16")
    assert result["status"] == "wrong_result", result.get("traceback", result["reason"])
    assert result["verification"]["error"] == pytest.approx(0.25, rel=0.05)
    assert result["verification"]["tolerance"] == 2.0**-4 and "timing" not in result


def test_bfloat16_torch_model_cell_verifies() -> None:
    result = _run("torch-eager", "bfloat16", workload="mlp")
    assert result["status"] == "ok", result.get("traceback", result["reason"])
    assert result["verification"]["error"] < 2.0**-6


def test_a_result_beyond_the_storage_range_is_unsupported() -> None:
    assert range_reason(np.array([65504.0]), "float16") is None
    assert "65504" in (range_reason(np.array([-7e4]), "float16") or "")
    assert range_reason(np.array([1e30]), "bfloat16") is None and range_reason(np.array([1e30]), "float32") is None
    # Row sums of 262144 uniform [0, 1) values (~131072) overflow float16 whatever the backend does.
    w = get_workload("reduce_sum")
    options = CellOptions(threads=1, timeout_s=300, repeat_policy=ONCE, dtype="float16", cache_dir="unused")
    result = run_cell_isolated(Cell("torch-eager", "default", "reduce_sum", "64x262144"), options)
    assert result["status"] == "unsupported" and "beyond float16" in result["reason"], result
    assert "compile_s" not in result and w.case("64x262144")["c"] == 262144


def test_selection_carries_the_precision() -> None:
    selection = resolve(Selection(backends=("numpy",), workloads=("matmul",), dtype="bfloat16"))
    assert selection.dtype == "bfloat16" and Selection.from_json(selection.to_json()) == selection
    old = {k: v for k, v in selection.to_json().items() if k != "dtype"}  # a manifest from before --dtype
    assert Selection.from_json(old).dtype == "float32"
    with pytest.raises(SelectionError, match="unknown precision 'float8'"):
        resolve(Selection(dtype="float8"))


def _cli(tmp_path: Path, *args: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "suites", "run", "--workloads", "matmul", "--quick", "--threads", "1",
               "--results-dir", str(tmp_path), "--machine", "testbox", "--repeats", "1", *args]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (manifest_path,) = tmp_path.glob("testbox/*.manifest.json")
    records, problems = read_records(manifest_path.with_name(manifest_path.name.replace(".manifest.json", ".jsonl")))
    assert not problems
    return json.loads(manifest_path.read_text()), {r["backend"]: r for r in records}


def test_cli_float16_run_records_the_precision_and_every_reason(tmp_path: Path) -> None:
    manifest, records = _cli(tmp_path, "--dtype", "float16", "--backends", "numpy,torch-eager,cublas,triton")
    assert manifest["dtype"] == manifest["options"]["dtype"] == manifest["selection"]["dtype"] == "float16"
    assert "gpu" not in manifest  # CPU runs have no GPU section
    assert {r["dtype"] for r in records.values()} == {"float16"}
    eager = records["torch-eager"]
    assert eager["status"] == "ok" and eager["verification"]["tolerance"] == 2.0**-4
    m, k, n = (eager["dims"][d] for d in "mkn")
    assert eager["bytes"] == 2.0 * (m * k + k * n + m * n)  # two bytes per element
    assert records["numpy"]["status"] == "unsupported" and "not float16" in records["numpy"]["reason"]
    assert records["cublas"]["status"] == "unsupported" and "CUDA only" in records["cublas"]["reason"]
    assert records["triton"]["status"] == "unsupported" and "no CPU backend" in records["triton"]["reason"]


def test_cli_tf32_is_cuda_only(tmp_path: Path) -> None:
    manifest, records = _cli(tmp_path, "--dtype", "tf32", "--backends", "torch-eager")
    assert records["torch-eager"]["status"] == "unsupported"
    assert "no CPU has it" in records["torch-eager"]["reason"] and manifest["dtype"] == "tf32"


def test_cli_rejects_an_unknown_dtype(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-m", "suites", "run", "--dtype", "fp8", "--results-dir", str(tmp_path)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "invalid choice: 'fp8'" in done.stderr and not any(tmp_path.iterdir())
