"""The NVIDIA vendor-library baseline: each operator that cuBLAS or cuDNN implements, called through torch with
the library's own best settings, on CUDA only.

- matmul:            cuBLAS GEMM (torch.matmul), TF32 off unless the precision is "tf32";
- conv2d, depthwise: cuDNN with torch.backends.cudnn.benchmark=True (cuDNN times its algorithms for the shape on
                     the first call: in first_run_s, which details["first_call_autotunes"] flags);
- attention:         cuDNN's fused attention (SDPA restricted to SDPBackend.CUDNN_ATTENTION) in float16/bfloat16;
                     cuDNN attention has no float32 kernel, so float32/tf32 use SDPA's MATH backend: two cuBLAS
                     batched GEMMs around torch's softmax kernel.
Other operators (softmax, layernorm, bias+add+ReLU, sums) are torch's own CUDA kernels, not library calls: the
torch-eager cells are their baseline.
"""

from __future__ import annotations

from typing import Any

from backends.base import Backend, Capabilities, CellRequest, Prepared, Skip, Task, unsupported
from backends.precision import get_precision
from backends.torch_common import TORCH_CAPABILITIES, torch_module, torch_prepared

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
    # Per-operator library calls; whole models through cuBLAS/cuDNN are what torch-eager runs on CUDA.
    capabilities = Capabilities(devices=("cuda",), precisions=TORCH_CAPABILITIES.precisions, suites=("operators",),
                                notes={"cpu": NO_CPU_REASON})

    def skip(self, request: CellRequest) -> Skip | None:
        name = request.workload.name
        return super().skip(request) or unsupported(
            None if name in LIBRARY_CALLS else f"{name} is not a cuBLAS/cuDNN operation: torch runs it with its own "
            f"CUDA kernels (see torch-eager); library calls: {', '.join(LIBRARY_CALLS)}")

    def prepare(self, task: Task) -> Prepared:
        import torch

        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.deterministic = False
        fn: Any = torch_module(task)
        # cuDNN's algorithm search (benchmark mode) and attention plan happen on the first call, in first_run_s.
        details: dict[str, Any] = {"library_call": LIBRARY_CALLS[task.workload.name],
                                   "cudnn_version": torch.backends.cudnn.version(), "cuda_runtime": torch.version.cuda,
                                   "cudnn_benchmark": True, "first_call_autotunes": task.workload.name != "matmul"}
        if task.workload.name == "attention":
            fn, details["sdpa_backend"] = _sdpa_restricted(fn, get_precision(task.dtype).storage)
        return torch_prepared(task, fn, details)


def _sdpa_restricted(module: Any, storage: str) -> tuple[Any, str]:
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backend = SDPBackend.MATH if storage == "float32" else SDPBackend.CUDNN_ATTENTION

    def call(*tensors: Any) -> Any:
        with sdpa_kernel([backend]):
            return module(*tensors)

    return call, backend.name
