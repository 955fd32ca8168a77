"""ONNX Runtime and IREE (both frontends) on matmul's tiny case: verified output, thread settings applied.

IREE's local-task driver reads its worker flag once per process, so every IREE test here uses threads=1
(exactly one worker on any machine).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backends import get_backend
from backends.base import Prepared, Task
from models import get_workload
from suites.tolerance import verify

REPO_ROOT = Path(__file__).resolve().parents[1]


def _need(*modules: str) -> None:
    for module in modules:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")


def _prepare_tiny(backend_name: str, variant: str, threads: int, tmp_path: Path) -> Prepared:
    workload = get_workload("matmul")
    case = workload.case(workload.tiny_case)
    inputs = workload.make_inputs(case)
    task = Task(workload, case, variant, inputs, threads, workdir=tmp_path / "work", cache_dir=tmp_path / "cache")
    prepared = get_backend(backend_name).prepare(task)
    output = prepared.fetch(prepared.run())
    assert isinstance(output, np.ndarray) and output.dtype == np.float32
    verdict = verify(output, workload.reference(case, inputs), workload.reduction_length(case))
    assert verdict.passed, verdict.detail
    # A second run gives the same answer (inputs prepared once are not consumed by a run).
    np.testing.assert_array_equal(prepared.fetch(prepared.run()), output)
    return prepared


def test_onnxruntime_tiny_matmul(tmp_path: Path) -> None:
    _need("onnxruntime", "onnxscript")
    details = _prepare_tiny("onnxruntime", "default", 2, tmp_path).details
    assert details["intra_op_num_threads"] == 2
    assert details["inter_op_num_threads"] == 1
    assert details["providers"] == ["CPUExecutionProvider"]
    assert details["graph_optimization_level"].endswith("ORT_ENABLE_ALL")
    assert details["artifact_bytes"] > 0 and details["export_s"] > 0


@pytest.mark.parametrize("variant", ["onnx", "stablehlo"])
def test_iree_tiny_matmul(variant: str, tmp_path: Path) -> None:
    _need("iree.compiler", "iree.runtime", *(("onnxscript",) if variant == "onnx" else ("jax",)))
    details = _prepare_tiny("iree", variant, 1, tmp_path).details
    assert details["workers_flag"] == "--task_topology_max_group_count=1"
    assert details["worker_threads"] == 1
    assert details["artifact_bytes"] > 0 and details["export_s"] > 0
    assert "--iree-llvmcpu-target-cpu=host" in details["compile_flags"]


def test_thread_env_and_light_imports() -> None:
    assert get_backend("iree").thread_env(3) == {"IREE_PY_RUNTIME_FLAGS": "--task_topology_max_group_count=3"}
    # The runner imports adapters in a light parent process: no heavy library may load at import time.
    code = (
        "import sys, json, backends.onnx_export, backends.onnx_runtime, backends.iree_llvmcpu\n"
        "print(json.dumps([m for m in ('torch', 'jax', 'onnx', 'onnxruntime', 'iree.runtime', 'iree.compiler')"
        " if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
