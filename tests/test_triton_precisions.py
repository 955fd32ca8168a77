"""The Triton kernels in float16 and bfloat16, through the adapter under TRITON_INTERPRET=1 (as in
tests/test_triton_kernels.py, in one subprocess: the variable is read when triton is imported).

The suite's low-precision tolerance (1/16) only catches structural errors, so this also holds each kernel to what
its arithmetic allows: float32 accumulation and one rounding of the output (plus attention's rounding of p) keep
the normalised error within 2 eps of the storage type.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from backends.precision import get_precision
from backends.triton_kernels import KERNEL_WORKLOADS
from suites.machine import REPO_ROOT

pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton is not installed")
PRECISIONS = ("float16", "bfloat16")

SCRIPT = """
import json, sys
from backends.base import Task
from backends.precision import round_inputs
from backends.triton_kernels import TritonBackend
from models import get_workload
from suites.tolerance import verify

report = {}
for dtype in sys.argv[2].split(","):
    for name in sys.argv[3:]:
        workload = get_workload(name)
        case = workload.case(workload.tiny_case)
        inputs = round_inputs(workload.make_inputs(case), dtype)
        prepared = TritonBackend().prepare(Task(workload, case, "default", inputs, threads=1, dtype=dtype))
        out = prepared.run()
        verdict = verify(prepared.fetch(out), workload.reference(case, inputs), workload.reduction_length(case), dtype)
        report[f"{dtype}/{name}"] = {"passed": verdict.passed, "error": verdict.error, "out_dtype": str(out.dtype)}
with open(sys.argv[1], "w") as f:
    json.dump(report, f)
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    path = tmp_path_factory.mktemp("triton-precisions") / "report.json"
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-c", SCRIPT, str(path), ",".join(PRECISIONS), *KERNEL_WORKLOADS]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, dict[str, object]] = json.loads(path.read_text())
    return result


@pytest.mark.parametrize("dtype", PRECISIONS)
@pytest.mark.parametrize("name", KERNEL_WORKLOADS)
def test_kernel_in_low_precision(report: dict[str, dict[str, object]], name: str, dtype: str) -> None:
    result = report[f"{dtype}/{name}"]
    assert result["passed"], result
    assert result["out_dtype"] == f"torch.{dtype}"  # computed and stored in the precision, not in float32
    error = float(result["error"])  # type: ignore[arg-type]
    assert 0 < error <= 2 * get_precision(dtype).eps, f"{dtype}/{name}: error {error:.3g}"
