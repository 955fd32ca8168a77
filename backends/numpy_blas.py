"""NumPy on its bundled OpenBLAS: the baseline a user already has, run in float32."""

from __future__ import annotations

import numpy as np

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
        return Prepared(
            run=lambda: workload.numpy_forward(case, *inputs),
            fetch=np.asarray,
            details={"blas": _blas_name()},
        )


def _blas_name() -> str:
    config = np.show_config(mode="dicts") or {}
    blas = config.get("Build Dependencies", {}).get("blas", {})
    return f"{blas.get('name', 'unknown')} {blas.get('version', '')}".strip()
