"""C + OpenMP baseline: the matmul a C programmer writes, compiled at run time by the system compiler.

Tests the claim that OpenMP gives portable threads while a tensor compiler gives portable performance:
"naive" is the textbook triple loop with `#pragma omp parallel for`, "tiled" adds cache blocking and the
i-k-j loop order that lets the compiler vectorise. Both are compiled with -O3 -march=native -fopenmp into
a shared library (compile time measured by prepare) and called through ctypes.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from backends.base import Backend, Capabilities, CellRequest, Prepared, Skip, Task, unsupported
from backends.c_compile import CFLAGS, SOURCES, compile_c, compiler, compiler_version

FUNCTIONS = {"naive": "matmul_naive", "tiled": "matmul_tiled"}
TILES = {"TILE_M": 64, "TILE_N": 256, "TILE_K": 128}


class COpenMPBackend(Backend):
    name = "c-openmp"
    description = "C + OpenMP matmul (naive and tiled), gcc -O3 -march=native -fopenmp at run time"
    variants = tuple(FUNCTIONS)
    capabilities = Capabilities(suites=("schedules",))
    modules = ("numpy",)
    commands = ((compiler(), "the C compiler; set CC to use another"),)
    thread_knob = "OMP_NUM_THREADS=n (the OpenMP runtime's team size)"

    def skip(self, request: CellRequest) -> Skip | None:
        return super().skip(request) or unsupported(
            "the C + OpenMP baseline implements matmul only" if request.workload.name != "matmul" else None)

    def thread_env(self, threads: int) -> dict[str, str]:
        return {"OMP_NUM_THREADS": str(threads)}

    def prepare(self, task: Task) -> Prepared:
        defines = tuple(f"-D{key}={value}" for key, value in TILES.items())
        library = task.workdir / "libmatmul.so"
        compile_s = compile_c([SOURCES / "matmul.c"], library, shared=True, extra=defines)
        func = getattr(ctypes.CDLL(str(library)), FUNCTIONS[task.variant])
        floats = ctypes.POINTER(ctypes.c_float)
        func.argtypes = [floats, floats, floats, ctypes.c_int, ctypes.c_int, ctypes.c_int]
        func.restype = None

        a, b = (np.ascontiguousarray(x, dtype=np.float32) for x in task.inputs)
        (m, k), n = a.shape, b.shape[1]
        c = np.empty((m, n), dtype=np.float32)
        args = (a.ctypes.data_as(floats), b.ctypes.data_as(floats), c.ctypes.data_as(floats), m, n, k)

        def run() -> np.ndarray:
            func(*args)  # ctypes releases the GIL; OpenMP's team runs the loop
            return c

        details: dict[str, Any] = {"function": FUNCTIONS[task.variant], "cc_s": compile_s,
                                   "compiler": compiler_version(), "cflags": " ".join((*CFLAGS, *defines))}
        return Prepared(run=run, fetch=lambda out: out.copy(), details=details)
