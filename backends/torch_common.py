"""What the torch-based adapters share: thread setup, the module and inputs on the cell's device in its precision,
TF32 settings on CUDA, and a synchronised run."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from backends.base import Capabilities, Prepared, Task
from backends.outputs import each_output
from backends.precision import get_precision, torch_dtype
from models.workload import is_integer

# What torch runs everywhere: its CPU and CUDA kernels, in every precision.
TORCH_CAPABILITIES = Capabilities(devices=("cpu", "cuda"), precisions=("float32", "tf32", "float16", "bfloat16"))


def torch_thread_env(threads: int) -> dict[str, str]:
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def _device(task: Task) -> str:
    return "cuda" if task.device == "cuda" else "cpu"


def torch_module(task: Task) -> Any:
    """The workload's module on the cell's device in its precision: the shared module itself for float32 on CPU,
    otherwise a converted copy (the cached original stays float32 on the CPU, where the reference uses it)."""
    import torch

    module = task.workload.torch_module(task.case)
    dtype = torch_dtype(task.dtype)
    if task.device == "cpu" and dtype == torch.float32:
        return module
    return copy.deepcopy(module).to(device=_device(task), dtype=dtype)


def torch_inputs(task: Task) -> tuple[Any, ...]:
    """The inputs on the cell's device; float inputs in the cell's precision, integer ones (token ids) as they are."""
    import torch

    torch.set_num_threads(task.threads)
    dtype = torch_dtype(task.dtype)
    return tuple(torch.from_numpy(np.ascontiguousarray(a)).to(device=_device(task),
                                                              dtype=None if is_integer(a.dtype) else dtype)
                 for a in task.inputs)


def cuda_math_settings(task: Task) -> dict[str, Any]:
    """Switch TF32 on for the "tf32" precision and off otherwise (cuDNN's own default is on), and say what the
    half-precision reductions are allowed to do. Only the legacy allow_tf32 flags are set: torch 2.9+ refuses to
    read them after the new fp32_precision API was used, while setting them keeps both views consistent."""
    if task.device != "cuda":
        return {}
    import torch

    tf32 = get_precision(task.dtype).tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    matmul = torch.backends.cuda.matmul
    return {"tf32_matmul": tf32, "tf32_cudnn": tf32,
            "fp16_reduced_precision_reduction": bool(matmul.allow_fp16_reduced_precision_reduction),
            "bf16_reduced_precision_reduction": bool(matmul.allow_bf16_reduced_precision_reduction)}


def torch_prepared(task: Task, fn: Any, details: dict[str, Any]) -> Prepared:
    """Wrap a torch callable (module or compiled module) as a Prepared that runs without autograd."""
    import torch

    details.update(cuda_math_settings(task))  # before the first call, where torch.compile picks its kernels
    tensors = torch_inputs(task)
    synchronize = torch.cuda.synchronize if task.device == "cuda" else (lambda: None)

    def run() -> Any:
        with torch.inference_mode():
            out = fn(*tensors)
        synchronize()
        return out

    # .float(): NumPy has no bfloat16 (a no-op for float32 outputs).
    return Prepared(run=run, fetch=each_output(lambda out: out.detach().float().cpu().numpy()), details=details)
