"""What the torch-based adapters share: thread setup, input conversion, synchronised run."""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.base import Prepared, Task


def torch_thread_env(threads: int) -> dict[str, str]:
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def torch_inputs(task: Task) -> tuple[Any, ...]:
    import torch

    torch.set_num_threads(task.threads)
    device = "cuda" if task.device == "cuda" else "cpu"
    return tuple(torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in task.inputs)


def torch_prepared(task: Task, fn: Any, details: dict[str, Any]) -> Prepared:
    """Wrap a torch callable (module or compiled module) as a Prepared that runs without autograd."""
    import torch

    tensors = torch_inputs(task)
    synchronize = torch.cuda.synchronize if task.device == "cuda" else (lambda: None)

    def run() -> Any:
        with torch.inference_mode():
            out = fn(*tensors)
        synchronize()
        return out

    return Prepared(run=run, fetch=lambda out: out.detach().cpu().numpy(), details=details)
