"""The precisions a cell can run in: what the record's `dtype` names, and what it means for inputs and tolerance.

- float32:  IEEE float32 storage and arithmetic; on NVIDIA GPUs TF32 tensor-core math is switched off.
- tf32:     float32 storage; matmuls and convolutions may round their inputs to TF32 (10-bit mantissa) on NVIDIA
            tensor cores (Ampere and later). A GPU-only mode.
- float16:  IEEE half storage (10-bit mantissa); accumulation precision is the backend's choice (float32 for
            the Triton kernels, cuBLAS's default for torch).
- bfloat16: bfloat16 storage (7-bit mantissa, float32's exponent range).

Workloads make float32 inputs; a cell rounds them to the precision's storage type (`round_inputs`), and a model's
weights too (`round_model_weights`), so the float64 reference computes exactly the function the backend receives:
the measured error is the backend's arithmetic, not the quantisation of its data. Backends cast those float32
values to their device type (exact, since they are representable) and return float32 or wider host arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.workload import is_integer


@dataclass(frozen=True)
class Precision:
    name: str
    # Element type of inputs and outputs on the device ("float32", "float16" or "bfloat16").
    storage: str
    # Machine epsilon of the arithmetic (2^-mantissa bits): sets the verification tolerance.
    eps: float
    # float32 storage with TF32 tensor-core math allowed.
    tf32: bool
    itemsize: int
    description: str

    @property
    def bytes_scale(self) -> float:
        """Workloads count memory traffic in float32 (4 bytes per element); this scales it to the storage type."""
        return self.itemsize / 4.0


PRECISIONS: dict[str, Precision] = {
    p.name: p
    for p in (
        Precision("float32", "float32", 2.0**-23, False, 4, "IEEE float32; TF32 tensor-core math off"),
        Precision("tf32", "float32", 2.0**-10, True, 4,
                  "float32 storage, TF32 tensor-core matmuls/convolutions (NVIDIA GPUs only)"),
        Precision("float16", "float16", 2.0**-10, False, 2, "IEEE half precision"),
        Precision("bfloat16", "bfloat16", 2.0**-7, False, 2, "bfloat16"),
    )
}
DEFAULT = "float32"


def get_precision(name: str) -> Precision:
    try:
        return PRECISIONS[name]
    except KeyError:
        raise KeyError(f"unknown precision {name!r} (valid: {', '.join(PRECISIONS)})") from None


def round_to_bfloat16(a: np.ndarray) -> np.ndarray:
    """float32 values rounded to the nearest bfloat16 (ties to even), still as float32 (NumPy has no bfloat16)."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    return rounded.astype(np.uint32).view(np.float32)


def round_inputs(inputs: tuple[np.ndarray, ...], precision: str) -> tuple[np.ndarray, ...]:
    """The inputs as the precision stores them, kept as float32 arrays (the same objects for float32 and tf32).
    Integer inputs (token ids) are indices, not values: every precision passes them through untouched."""
    storage = get_precision(precision).storage
    if storage == "float32":
        return inputs
    round_one = (round_to_bfloat16 if storage == "bfloat16"
                 else lambda a: np.asarray(a, dtype=np.float32).astype(np.float16).astype(np.float32))
    return tuple(a if is_integer(np.asarray(a).dtype) else round_one(a) for a in inputs)


def range_reason(reference: np.ndarray, precision: str) -> str | None:
    """None, or why the precision's storage type cannot hold the result at all (e.g. a long sum past float16's
    65504): then no backend can be right, and the cell is unsupported rather than wrong."""
    storage = get_precision(precision).storage
    if storage == "float32" or reference.size == 0:
        return None
    largest = float(np.max(np.abs(reference)))
    limit = 65504.0 if storage == "float16" else float(np.finfo(np.float32).max) * (1 - 2.0**-8)
    if largest <= limit:
        return None
    return f"the result reaches {largest:.4g}, beyond {storage}'s largest finite value {limit:.6g}"


def round_model_weights(workload: Any, case: Any, precision: str) -> None:
    """Round a model's weights and buffers in place to the precision's storage type (values stay float32).

    It rounds the module the workload caches in this process, which the reference, the torch-based backends and
    the JAX weights (`ModelWorkload.params`) all read, so every one of them sees the same weights. Nothing to do
    for float32/tf32, or for operators, whose weights are inputs.
    """
    if get_precision(precision).storage == "float32" or workload.kind != "model":
        return
    if "torch" not in workload.definitions:
        return  # an ONNX file: only float32 backends run it
    import torch

    dtype = torch_dtype(precision)
    module = workload.torch_module(case)
    with torch.no_grad():
        for tensor in (*module.parameters(), *module.buffers()):
            if tensor.is_floating_point():
                tensor.copy_(tensor.to(dtype).to(tensor.dtype))


def torch_dtype(precision: str) -> Any:
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[
        get_precision(precision).storage]
