"""torch.compile with the Inductor backend (C++/OpenMP codegen on CPU, Triton on GPU)."""

from __future__ import annotations

from backends.base import Backend, Prepared, Task
from backends.torch_common import torch_module, torch_prepared, torch_thread_env


class InductorBackend(Backend):
    name = "inductor"
    description = "torch.compile(backend='inductor')"
    variants = ("default", "max-autotune")
    modules = ("torch",)
    packages = ("torch",)
    thread_knob = "torch.set_num_threads(n) + OMP_NUM_THREADS (Inductor's OpenMP kernels)"
    devices = ("cpu", "cuda")
    precisions = ("float32", "tf32", "float16", "bfloat16")

    def thread_env(self, threads: int) -> dict[str, str]:
        return torch_thread_env(threads)

    def prepare(self, task: Task) -> Prepared:
        import torch

        module = torch_module(task)
        # fullgraph: a graph break would silently fall back to eager and flatter the numbers.
        compiled = torch.compile(module, mode=task.variant, fullgraph=True, dynamic=False)
        prepared = torch_prepared(task, compiled, details={"mode": task.variant, "fullgraph": True})
        # torch.compile is lazy: the first call compiles, so do it here where compile time is measured.
        prepared.run()
        return prepared
