"""Hand-written Triton kernels (backends/triton_ops.py) for the operator workloads.

Triton compiles for GPUs only. On CPU the kernels can run under TRITON_INTERPRET=1 (Triton's NumPy interpreter,
~1000x slower): that checks correctness in the tests but its timings mean nothing, so CPU cells are skipped
unless interpret mode is asked for explicitly.
"""

from __future__ import annotations

import functools
import os

from backends.base import Backend, CellRequest, Prepared, Skip, Task, unsupported
from backends.precision import get_precision
from backends.torch_common import TORCH_CAPABILITIES, torch_prepared, torch_thread_env

# Workloads with a kernel; each has a launcher of the same name in backends.triton_ops.
KERNEL_WORKLOADS = ("matmul", "softmax", "layernorm", "bias_add_relu", "attention", "reduce_sum")
# Kernels built on tl.dot, whose launchers take tf32=True for the "tf32" precision.
DOT_KERNELS = ("matmul", "attention")

NO_CPU_REASON = (
    "Triton has no CPU backend (the PyPI wheel ships NVIDIA and AMD drivers only); its kernels are checked on CPU "
    "with TRITON_INTERPRET=1 in the tests and timed in the GPU suite"
)


def interpret_mode() -> bool:
    return os.environ.get("TRITON_INTERPRET") == "1"


class TritonBackend(Backend):
    name = "triton"
    description = "hand-written Triton kernels (tiled tl.dot matmul with autotuning, fused row/elementwise kernels)"
    variants = ("default",)
    modules = ("triton", "torch")
    packages = ("triton", "torch")
    thread_knob = "none (GPU kernels); torch.set_num_threads(n) for the interpreter's torch ops"
    # CPU only under TRITON_INTERPRET=1 (see `skip`).
    capabilities = TORCH_CAPABILITIES

    def thread_env(self, threads: int) -> dict[str, str]:
        return torch_thread_env(threads)

    def skip(self, request: CellRequest) -> Skip | None:
        return super().skip(request) or unsupported(_kernel_refusal(request))

    def prepare(self, task: Task) -> Prepared:
        from backends import triton_ops

        launcher = getattr(triton_ops, task.workload.name)
        # JIT compilation (and autotuning for matmul) happen on the first call, which first_run_s times.
        details = {"kernel": f"triton_ops.{launcher.__name__}", "interpret": triton_ops.INTERPRET,
                   "first_call_compiles": True}
        if get_precision(task.dtype).tf32 and task.workload.name in DOT_KERNELS:
            details["dot_input_precision"] = "tf32"
            prepared = torch_prepared(task, functools.partial(launcher, tf32=True), details)
        else:
            prepared = torch_prepared(task, launcher, details)
        if task.workload.name == "matmul":
            prepared.after_first_run = triton_ops.matmul_tuning  # the config the autotuner picked
        return prepared


def _kernel_refusal(request: CellRequest) -> str | None:
    workload = request.workload
    if workload.kind == "model":
        return ("not applicable: Triton writes single kernels, not whole models "
                "(torch.compile/Inductor generates Triton for whole models on GPU)")
    if workload.name not in KERNEL_WORKLOADS:
        return f"no Triton kernel for {workload.name!r} in mlcompare (kernels: {', '.join(KERNEL_WORKLOADS)})"
    if request.device == "cpu" and not interpret_mode():
        return NO_CPU_REASON  # triton itself would fail with "0 active drivers"
    return None
