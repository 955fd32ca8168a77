"""Fused elementwise epilogue relu(x + bias + residual): a memory-bound test of operator fusion."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.workload import Case, Shape, Workload


class BiasAddRelu(Workload):
    name = "bias_add_relu"
    description = "relu(x[M,N] + bias[N] + residual[M,N]), float32 (fused elementwise, memory bound)"
    cases = (
        # BERT-base FFN intermediate activations on 128 tokens.
        Case.of("128x3072", m=128, n=3072),
        Case.of("1024x4096", m=1024, n=4096),
        # 64 MiB per operand: well past every cache level.
        Case.of("4096x4096", m=4096, n=4096),
        # Odd sizes: the bias broadcast must index columns, not flat offsets.
        Case.of("tiny-7x33", m=7, n=33),
    )
    default_cases = ("1024x4096",)
    quick_cases = ("128x3072",)
    tiny_case = "tiny-7x33"

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return (case["m"], case["n"]), (case["n"],), (case["m"], case["n"])

    def output_shape(self, case: Case) -> Shape:
        return case["m"], case["n"]

    def numpy_forward(self, case: Case, *arrays: np.ndarray) -> np.ndarray:
        x, bias, residual = arrays
        return np.maximum(x + bias + residual, 0)

    def torch_forward(self, case: Case, *tensors: Any) -> Any:
        import torch

        x, bias, residual = tensors
        return torch.relu(x + bias + residual)

    def jax_forward(self, case: Case, *arrays: Any) -> Any:
        import jax

        x, bias, residual = arrays
        return jax.nn.relu(x + bias + residual)

    def flops(self, case: Case) -> float:
        # Two adds and one max per output element.
        return 3.0 * case["m"] * case["n"]

    def reduction_length(self, case: Case) -> int:
        return 1
