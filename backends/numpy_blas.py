"""NumPy on its bundled OpenBLAS: the baseline a user already has, run in float32."""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.artifacts import bookkeeping
from backends.base import Backend, Capabilities, Prepared, Task


class NumpyBackend(Backend):
    name = "numpy"
    description = "NumPy (OpenBLAS), float32, no compilation"
    modules = ("numpy",)
    packages = ("numpy",)
    # Operators are NumPy expressions; whole networks exist only as torch/JAX definitions.
    capabilities = Capabilities(definition="numpy", suites=("operators", "schedules"))
    thread_knob = "OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (BLAS calls only; elementwise NumPy is single-threaded)"

    def thread_env(self, threads: int) -> dict[str, str]:
        return {"OPENBLAS_NUM_THREADS": str(threads)}

    def prepare(self, task: Task) -> Prepared:
        workload, case, inputs = task.workload, task.case, task.inputs
        details: dict[str, Any] = {}
        with bookkeeping(details):  # asking the loaded libraries is not compile time
            details["blas"] = blas_in_use()
        return Prepared(run=lambda: workload.numpy_forward(case, *inputs), fetch=np.asarray, details=details)


def blas_in_use() -> dict[str, Any]:
    """The BLAS NumPy loaded, as threadpoolctl finds it in this process: the kernel family OpenBLAS picked for this
    CPU (`architecture`, e.g. Haswell or SkylakeX; an inherited OPENBLAS_CORETYPE forces an older one) and the
    threads it will use."""
    found: dict[str, Any] = {"name": _blas_name()}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {**found, "threadpoolctl": "not installed"}
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            found.update({k: pool.get(k) for k in ("internal_api", "architecture", "version", "num_threads")})
            break
    return found


def _blas_name() -> str:
    config = np.show_config(mode="dicts") or {}
    blas = config.get("Build Dependencies", {}).get("blas", {})
    return f"{blas.get('name', 'unknown')} {blas.get('version', '')}".strip()
