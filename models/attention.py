"""Scaled dot-product attention softmax(q k^T / sqrt(D)) v, non-causal, at BERT-base shapes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from models.softmax import SOFTMAX_FLOPS_PER_ELEMENT, numpy_softmax
from models.workload import Case, Shape, Workload


class Attention(Workload):
    name = "attention"
    description = "softmax(q k^T / sqrt(D)) v with q,k,v[B,H,S,D], non-causal, float32 (BERT-base heads)"
    cases = (
        # BERT-base: 12 heads of width 64, sequence 128 and 512.
        Case.of("1x12x128x64", b=1, h=12, s=128, d=64),
        Case.of("1x12x512x64", b=1, h=12, s=512, d=64),
        # A batch of 8 sequences of 512: the score matrices (8*12*512*512 floats = 96 MiB) outgrow the caches.
        Case.of("8x12x512x64", b=8, h=12, s=512, d=64),
        # Odd sequence length and head width: masking along both in the tests.
        Case.of("tiny-2x3x37x24", b=2, h=3, s=37, d=24),
    )
    default_cases = ("1x12x128x64",)
    quick_cases = ("1x12x128x64",)
    tiny_case = "tiny-2x3x37x24"

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        shape = (case["b"], case["h"], case["s"], case["d"])
        return shape, shape, shape

    def output_shape(self, case: Case) -> Shape:
        return case["b"], case["h"], case["s"], case["d"]

    def numpy_forward(self, case: Case, *arrays: np.ndarray) -> np.ndarray:
        q, k, v = arrays
        # A Python float scale keeps the computation in the inputs' dtype (a NumPy float64 scalar would promote).
        scores = (q @ k.swapaxes(-1, -2)) * (1.0 / math.sqrt(case["d"]))
        return numpy_softmax(scores) @ v

    def torch_forward(self, case: Case, *tensors: Any) -> Any:
        import torch

        q, k, v = tensors
        # SDPA (default scale 1/sqrt(D)) stays one aten op under torch.export, and the ONNX exporter
        # decomposes it into MatMul/Softmax/MatMul, so every torch-based path can take it.
        return torch.nn.functional.scaled_dot_product_attention(q, k, v)

    def jax_forward(self, case: Case, *arrays: Any) -> Any:
        import jax
        import jax.numpy as jnp

        q, k, v = arrays
        # HIGHEST: full float32 matmuls on every platform (XLA:GPU would otherwise use TF32).
        highest = jax.lax.Precision.HIGHEST
        scores = jnp.matmul(q, jnp.swapaxes(k, -1, -2), precision=highest) * (1.0 / math.sqrt(case["d"]))
        return jnp.matmul(jax.nn.softmax(scores, axis=-1), v, precision=highest)

    def flops(self, case: Case) -> float:
        # q k^T and p v are 2*S*S*D each per head; the scale is 1 and the softmax 5 per score.
        heads, s, d = case["b"] * case["h"], case["s"], case["d"]
        return float(heads * (4 * s * s * d + (1 + SOFTMAX_FLOPS_PER_ELEMENT) * s * s))

    def reduction_length(self, case: Case) -> int:
        # Each score sums D products; each output sums S weighted values (and the softmax denominator S terms).
        return case["d"] + case["s"]
