"""The Triton kernels against float64 NumPy, run on CPU under TRITON_INTERPRET=1, and the adapter's skip rules.

TRITON_INTERPRET is read when triton is imported, and another test in the same pytest process may already have
imported it (torch imports triton lazily, e.g. under torch.compile). So the kernels run in one subprocess started
with the variable set: it reads the inputs from an .npz and writes the outputs to another. Shapes are tiny and
ragged (not powers of 2, not multiples of the block sizes): the interpreter is ~1000x slower than a GPU.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from backends.base import CellRequest, Skip
from backends.triton_kernels import KERNEL_WORKLOADS, NO_CPU_REASON, TritonBackend
from models import Case, get_workload, workload_names
from suites.tolerance import verify

REPO_ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton is not installed")

# Runs in the subprocess: every kernel on its inputs, then the adapter end to end on the registered workloads' tiny
# cases (prepare, run, verify), as the suite's cell would.
SCRIPT = """
import json, sys
import numpy as np, torch
from backends import triton_ops
from backends.base import Task
from backends.triton_kernels import TritonBackend
from models import get_workload
from suites.cell import warm_up
from suites.tolerance import verify_outputs
from backends.outputs import as_tuple

data = np.load(sys.argv[1])
outputs = {}
for cid in sorted({key.split("/")[0] for key in data.files}):
    args = [torch.from_numpy(data[f"{cid}/{i}"]) for i in range(sum(k.startswith(cid + "/") for k in data.files))]
    outputs[cid] = getattr(triton_ops, cid.split(":")[0])(*args).numpy()
np.savez(sys.argv[2], **outputs)

report = {}
for name in sys.argv[4:]:
    workload = get_workload(name)
    case = workload.case(workload.tiny_case)
    inputs = workload.make_inputs(case)
    prepared = TritonBackend().prepare(Task(workload, case, "default", inputs, threads=1))
    output, _ = warm_up(prepared)  # the cell's first call (the outputs as a tuple), adds the autotuner's pick
    verdict = verify_outputs(output, as_tuple(workload.reference(case, inputs)), workload.reduction_length(case))
    report[name] = {"passed": verdict.passed, "detail": verdict.detail, "details": prepared.details}
with open(sys.argv[3], "w") as f:
    json.dump(report, f)
"""


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * gamma + beta


def _attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    return _softmax(q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1])) @ v


# id -> (input shapes, input scale, input offset, float64 reference, reduction length). The id before ":" names the
# launcher in backends/triton_ops.py.
CASES: dict[str, tuple[list[tuple[int, ...]], float, float, Any, Any]] = {
    "matmul:8x16x12": ([(8, 16), (16, 12)], 1.0, 0.0, np.matmul, lambda s: s[0][1]),
    "matmul:gemv-1x40x33": ([(1, 40), (40, 33)], 1.0, 0.0, np.matmul, lambda s: s[0][1]),
    "matmul:K5-37x5x19": ([(37, 5), (5, 19)], 1.0, 0.0, np.matmul, lambda s: s[0][1]),
    "matmul:multiblock-70x50x45": ([(70, 50), (50, 45)], 1.0, 0.0, np.matmul, lambda s: s[0][1]),
    "softmax:5x37": ([(5, 37)], 1.0, 0.0, _softmax, lambda s: s[0][1]),
    # exp(300) overflows float32: only a max-subtracted softmax survives this scale.
    "softmax:large-values-3x100": ([(3, 100)], 300.0, 0.0, _softmax, lambda s: s[0][1]),
    "softmax:one-column-4x1": ([(4, 1)], 1.0, 0.0, _softmax, lambda s: s[0][1]),
    "layernorm:5x37": ([(5, 37), (37,), (37,)], 1.0, 0.0, _layernorm, lambda s: s[0][1]),
    # A large mean relative to the spread is where a one-pass E[x^2] - E[x]^2 variance loses digits.
    "layernorm:offset-3x130": ([(3, 130), (130,), (130,)], 1.0, 50.0, _layernorm, lambda s: s[0][1]),
    "bias_add_relu:5x37": ([(5, 37), (37,), (5, 37)], 1.0, 0.0, lambda x, b, r: np.maximum(x + b + r, 0), lambda s: 1),
    "bias_add_relu:several-blocks-33x70": (
        [(33, 70), (70,), (33, 70)], 1.0, 0.0, lambda x, b, r: np.maximum(x + b + r, 0), lambda s: 1),
    "attention:1x2x8x16": ([(1, 2, 8, 16)] * 3, 1.0, 0.0, _attention, lambda s: s[0][2] + s[0][3]),
    "attention:ragged-2x3x45x12": ([(2, 3, 45, 12)] * 3, 1.0, 0.0, _attention, lambda s: s[0][2] + s[0][3]),
    "attention:three-key-blocks-1x1x70x20": ([(1, 1, 70, 20)] * 3, 1.0, 0.0, _attention, lambda s: s[0][2] + s[0][3]),
    "reduce_sum:5x37": ([(5, 37)], 1.0, 0.0, lambda x: x.sum(-1), lambda s: s[0][1]),
    "reduce_sum:column-chunks-3x3000": ([(3, 3000)], 1.0, 0.0, lambda x: x.sum(-1), lambda s: s[0][1]),
    "reduce_sum:row-blocks-130x7": ([(130, 7)], 1.0, 0.0, lambda x: x.sum(-1), lambda s: s[0][1]),
}


def _inputs(cid: str) -> list[np.ndarray]:
    shapes, scale, offset, _, _ = CASES[cid]
    rng = np.random.default_rng(sorted(CASES).index(cid))
    return [(rng.standard_normal(shape) * scale + offset).astype(np.float32) for shape in shapes]


@pytest.fixture(scope="module")
def interpreted(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Run every kernel case and the adapter end to end in one TRITON_INTERPRET=1 subprocess."""
    tmp = tmp_path_factory.mktemp("triton")
    arrays = {f"{cid}/{i}": a for cid in CASES for i, a in enumerate(_inputs(cid))}
    np.savez(tmp / "in.npz", **arrays)
    # End to end on every registered workload that has a kernel (matmul at least).
    e2e = [name for name in KERNEL_WORKLOADS if name in workload_names()]
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-c", SCRIPT, str(tmp / "in.npz"), str(tmp / "out.npz"), str(tmp / "e2e.json"), *e2e]
    proc = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(tmp / "out.npz") as out:
        outputs = {cid: out[cid] for cid in out.files}
    return outputs, json.loads((tmp / "e2e.json").read_text())


def test_cases_cover_every_kernel() -> None:
    assert {cid.split(":")[0] for cid in CASES} == set(KERNEL_WORKLOADS)


@pytest.mark.parametrize("cid", list(CASES))
def test_kernel_matches_float64(interpreted: tuple[dict[str, np.ndarray], dict[str, Any]], cid: str) -> None:
    shapes, _, _, reference, reduction = CASES[cid]
    out = interpreted[0][cid]  # a local, so a failure does not print every output
    verdict = verify(out, reference(*(a.astype(np.float64) for a in _inputs(cid))), reduction(shapes))
    assert verdict.passed, f"{cid}: {verdict.detail} (error {verdict.error:.3g})"


def test_adapter_end_to_end(interpreted: tuple[dict[str, np.ndarray], dict[str, Any]]) -> None:
    report = interpreted[1]
    assert "matmul" in report
    for name, result in report.items():
        assert result["passed"], f"{name}: {result['detail']}"
        assert result["details"]["kernel"] == f"triton_ops.{name}" and result["details"]["interpret"]
    assert report["matmul"]["details"]["autotune_config"]["BLOCK_K"] >= 16


def _stub(name: str) -> Any:
    # skip reads only these attributes, so these tests do not need conv2d to be registered.
    return SimpleNamespace(name=name, kind="operator", definitions=("numpy", "torch", "jax"))


def test_cpu_needs_interpret_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    backend, matmul = TritonBackend(), get_workload("matmul")
    case = matmul.case(matmul.tiny_case)
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert backend.skip(CellRequest(matmul, case, "default", "cpu")) == Skip("unsupported", NO_CPU_REASON)
    assert backend.skip(CellRequest(matmul, case, "default", "cuda")) is None
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert backend.skip(CellRequest(matmul, case, "default", "cpu")) is None


@pytest.mark.parametrize("name", ["conv2d", "depthwise_conv2d"])
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_convolutions_have_no_kernel(monkeypatch: pytest.MonkeyPatch, name: str, device: str) -> None:
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    skip = TritonBackend().skip(CellRequest(_stub(name), Case.of("any"), "default", device))
    assert skip is not None and name in skip.reason and "no Triton kernel" in skip.reason
