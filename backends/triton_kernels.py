"""Hand-written Triton kernels (backends/triton_ops.py) for the operator workloads.

Triton compiles for GPUs only. On CPU the kernels can run under TRITON_INTERPRET=1 (Triton's NumPy interpreter,
~1000x slower): that checks correctness in the tests but its timings mean nothing, so CPU cells are skipped
unless interpret mode is asked for explicitly.
"""

from __future__ import annotations

import functools
import os

from backends.base import Backend, Prepared, Task, Unsupported
from backends.precision import get_precision
from backends.torch_common import torch_prepared, torch_thread_env
from models.base import Case, Workload

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
    devices = ("cpu", "cuda")
    precisions = ("float32", "tf32", "float16", "bfloat16")

    def thread_env(self, threads: int) -> dict[str, str]:
        return torch_thread_env(threads)

    def unsupported_reason(self, workload: Workload, case: Case, variant: str, device: str) -> str | None:
        reason = super().unsupported_reason(workload, case, variant, device)
        if reason:
            return reason
        if workload.kind == "model":
            return ("not applicable: Triton writes single kernels, not whole models "
                    "(torch.compile/Inductor generates Triton for whole models on GPU)")
        if workload.name not in KERNEL_WORKLOADS:
            return f"no Triton kernel for {workload.name!r} in mlcompare (kernels: {', '.join(KERNEL_WORKLOADS)})"
        if device == "cpu" and not interpret_mode():
            return NO_CPU_REASON
        return None

    def prepare(self, task: Task) -> Prepared:
        if task.workload.name not in KERNEL_WORKLOADS:
            raise Unsupported(f"no Triton kernel for {task.workload.name!r}")
        if task.device == "cpu" and not interpret_mode():
            raise Unsupported(NO_CPU_REASON)  # triton would fail with "0 active drivers"
        from backends import triton_ops

        launcher = getattr(triton_ops, task.workload.name)
        details = {"kernel": f"triton_ops.{launcher.__name__}", "interpret": triton_ops.INTERPRET}
        if get_precision(task.dtype).tf32 and task.workload.name in DOT_KERNELS:
            details["dot_input_precision"] = "tf32"
            prepared = torch_prepared(task, functools.partial(launcher, tf32=True), details)
        else:
            prepared = torch_prepared(task, launcher, details)
        # JIT compilation (and autotuning for matmul) happen on the first call: do it here, in compile time.
        prepared.run()
        if task.workload.name == "matmul":
            details.update(triton_ops.matmul_tuning())
        return prepared
