"""Row softmax over the last axis (numerically stable): attention scores and vocabulary logits."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.workload import Case, Shape, Workload

# Per element: max (compare), subtract max, exp, add to the row sum, divide by it.
SOFTMAX_FLOPS_PER_ELEMENT = 5


def numpy_softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis in the dtype of `x`; subtracting the row max keeps exp() from overflowing."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Softmax(Workload):
    name = "softmax"
    description = "softmax(x[R,C]) over the last axis, max-subtracted, float32"
    cases = (
        # BERT-base attention scores: 12 heads x 128 queries rows of 128 keys.
        Case.of("1536x128", r=1536, c=128),
        # The same at sequence length 512: 12 x 512 rows of 512 keys.
        Case.of("6144x512", r=6144, c=512),
        # Next-token logits over a 32k vocabulary (LLaMA) for 128 positions: long rows.
        Case.of("128x32000", r=128, c=32000),
        Case.of("tiny-5x37", r=5, c=37),
    )
    default_cases = ("1536x128",)
    quick_cases = ("1536x128",)
    tiny_case = "tiny-5x37"

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return ((case["r"], case["c"]),)

    def output_shape(self, case: Case) -> Shape:
        return case["r"], case["c"]

    def numpy_forward(self, case: Case, *arrays: np.ndarray) -> np.ndarray:
        (x,) = arrays
        return numpy_softmax(x)

    def torch_forward(self, case: Case, *tensors: Any) -> Any:
        import torch

        (x,) = tensors
        return torch.softmax(x, dim=-1)

    def jax_forward(self, case: Case, *arrays: Any) -> Any:
        import jax

        (x,) = arrays
        return jax.nn.softmax(x, axis=-1)

    def flops(self, case: Case) -> float:
        return float(SOFTMAX_FLOPS_PER_ELEMENT * case["r"] * case["c"])

    def reduction_length(self, case: Case) -> int:
        # The row sum of C exponentials (the max is exact).
        return case["c"]
