"""PyTorch eager mode: the second baseline, and the reference point for compile break-even."""

from __future__ import annotations

from backends.base import Backend, Prepared, Task
from backends.torch_common import TORCH_CAPABILITIES, torch_module, torch_prepared, torch_thread_env


class TorchEagerBackend(Backend):
    name = "torch-eager"
    description = "PyTorch eager (ATen kernels, oneDNN/MKL on CPU)"
    modules = ("torch",)
    packages = ("torch",)
    thread_knob = "torch.set_num_threads(n) + OMP_NUM_THREADS"
    capabilities = TORCH_CAPABILITIES

    def thread_env(self, threads: int) -> dict[str, str]:
        return torch_thread_env(threads)

    def prepare(self, task: Task) -> Prepared:
        return torch_prepared(task, torch_module(task), details={"mode": "eager"})
