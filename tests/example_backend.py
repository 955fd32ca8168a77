"""A complete backend adapter in one file: NumPy's matmul, as a minimal example of the interface (backends/base.py).

To add it to mlcompare, copy it to backends/ and add one line to BACKEND_MODULES in backends/__init__.py:

    "example-numpy": "backends.example_backend:ExampleNumpyBackend",

or, without touching the repository, put the file on PYTHONPATH and name it in the environment:

    MLCOMPARE_EXTRA_BACKENDS="example-numpy=example_backend:ExampleNumpyBackend" python -m suites run ...

tests/test_backend_registration.py runs it that way, end to end through the isolated runner.
"""

from __future__ import annotations

import numpy as np

from backends.base import Backend, Capabilities, CellRequest, Prepared, Skip, Task, unsupported


class ExampleNumpyBackend(Backend):
    name = "example-numpy"  # the name it is registered under
    description = "np.matmul in float32 (an example adapter)"
    # What it can run: the matrix records every other device, precision or definition as unsupported, with a reason.
    capabilities = Capabilities(devices=("cpu",), precisions=("float32",), definition="numpy", suites=("operators",))
    modules = ("numpy",)  # missing modules make every cell "unavailable"
    packages = ("numpy",)  # versions recorded in the manifest
    thread_knob = "OPENBLAS_NUM_THREADS=n"

    def thread_env(self, threads: int) -> dict[str, str]:
        return {"OPENBLAS_NUM_THREADS": str(threads)}  # set before the cell's process imports numpy

    def skip(self, request: CellRequest) -> Skip | None:
        # The capabilities' checks first, then this adapter's own rule.
        return super().skip(request) or unsupported(
            None if request.workload.name == "matmul" else "the example adapter implements matmul only")

    def prepare(self, task: Task) -> Prepared:
        # Compile here (timed as compile_s), but never run the workload: the cell times the first call itself.
        a, b = (np.ascontiguousarray(x, dtype=np.float32) for x in task.inputs)
        return Prepared(run=lambda: np.matmul(a, b), fetch=np.asarray, details={"function": "np.matmul"})
