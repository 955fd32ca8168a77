"""The NVIDIA vendor-library baseline: each operator that cuBLAS or cuDNN implements, called through torch with
the library's own best settings, on CUDA only.

- matmul:            cuBLAS GEMM (torch.matmul), TF32 off unless the precision is "tf32";
- conv2d, depthwise: cuDNN with torch.backends.cudnn.benchmark=True (cuDNN times its algorithms for the shape on
                     the first call, which happens in prepare, i.e. in compile time);
- attention:         cuDNN's fused attention (SDPA restricted to SDPBackend.CUDNN_ATTENTION) in float16/bfloat16;
                     cuDNN attention has no float32 kernel, so float32/tf32 use SDPA's MATH backend: two cuBLAS
                     batched GEMMs around torch's softmax kernel.
Other operators (softmax, layernorm, bias+add+ReLU, sums) are torch's own CUDA kernels, not library calls: the
torch-eager cells are their baseline.
"""

from __future__ import annotations

from typing import Any

from backends.base import Backend, Prepared, Task, Unsupported
from backends.precision import get_precision
from backends.torch_common import torch_module, torch_prepared
from models.base import Case, Workload

LIBRARY_CALLS = {
    "matmul": "cuBLAS GEMM",
    "conv2d": "cuDNN convolution (benchmark mode)",
    "depthwise_conv2d": "cuDNN grouped convolution (benchmark mode)",
    "attention": "cuDNN fused attention (float16/bfloat16) or cuBLAS batched GEMMs + softmax (float32)",
}
NO_CPU_REASON = "cuBLAS and cuDNN are NVIDIA GPU libraries: the cublas baseline runs on CUDA only"


class CublasBackend(Backend):
    name = "cublas"
    description = "NVIDIA cuBLAS/cuDNN through torch (GEMM, cuDNN convolutions in benchmark mode, cuDNN attention)"
    modules = ("torch",)
    packages = ("torch",)
    thread_knob = "none (GPU libraries)"
    devices = ("cuda",)
    precisions = ("float32", "tf32", "float16", "bfloat16")
    # Per-operator library calls; whole models through cuBLAS/cuDNN are what torch-eager runs on CUDA.
    suites = ("operators",)

    def unsupported_reason(self, workload: Workload, case: Case, variant: str, device: str) -> str | None:
        if device not in self.devices:
            return NO_CPU_REASON
        reason = super().unsupported_reason(workload, case, variant, device)
        if reason:
            return reason
        if workload.name not in LIBRARY_CALLS:
            return (f"{workload.name} is not a cuBLAS/cuDNN operation: torch runs it with its own CUDA kernels "
                    f"(see torch-eager); library calls: {', '.join(LIBRARY_CALLS)}")
        return None

    def prepare(self, task: Task) -> Prepared:
        if task.device != "cuda":
            raise Unsupported(NO_CPU_REASON)
        if task.workload.name not in LIBRARY_CALLS:
            raise Unsupported(f"{task.workload.name} is not a cuBLAS/cuDNN operation")
        import torch

        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.deterministic = False
        fn: Any = torch_module(task)
        details: dict[str, Any] = {"library_call": LIBRARY_CALLS[task.workload.name],
                                   "cudnn_version": torch.backends.cudnn.version(), "cuda_runtime": torch.version.cuda,
                                   "cudnn_benchmark": True}
        if task.workload.name == "attention":
            fn, details["sdpa_backend"] = _sdpa_restricted(fn, get_precision(task.dtype).storage)
        prepared = torch_prepared(task, fn, details)
        # cuDNN's algorithm search (benchmark mode) and attention plan happen on the first call: here, in compile.
        prepared.run()
        return prepared


def _sdpa_restricted(module: Any, storage: str) -> tuple[Any, str]:
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backend = SDPBackend.MATH if storage == "float32" else SDPBackend.CUDNN_ATTENTION

    def call(*tensors: Any) -> Any:
        with sdpa_kernel([backend]):
            return module(*tensors)

    return call, backend.name
