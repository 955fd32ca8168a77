"""Row sum x[R,C] -> [R]: a bandwidth-bound reduction at three aspect ratios."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.workload import Case, Shape, Workload


class ReduceSum(Workload):
    name = "reduce_sum"
    description = "y[R] = sum of x[R,C] over the last axis, float32, x uniform in [0,1)"
    cases = (
        Case.of("4096x4096", r=4096, c=4096),
        # Many short rows: parallelism comes from rows, each reduction is short.
        Case.of("65536x256", r=65536, c=256),
        # Few long rows: a backend must split each row's reduction to use the machine.
        Case.of("64x262144", r=64, c=262144),
        Case.of("1024x1024", r=1024, c=1024),
        Case.of("tiny-9x1500", r=9, c=1500),
    )
    default_cases = ("4096x4096",)
    quick_cases = ("1024x1024",)
    tiny_case = "tiny-9x1500"

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return ((case["r"], case["c"]),)

    def output_shape(self, case: Case) -> Shape:
        return (case["r"],)

    def make_inputs(self, case: Case, seed: int = 0) -> tuple[np.ndarray, ...]:
        # Positive terms: no cancellation, so the error relative to max|sum| measures accumulation accuracy.
        rng = np.random.default_rng(seed)
        return (rng.random((case["r"], case["c"]), dtype=np.float32),)

    def numpy_forward(self, case: Case, *arrays: np.ndarray) -> np.ndarray:
        (x,) = arrays
        return x.sum(axis=-1)

    def torch_forward(self, case: Case, *tensors: Any) -> Any:
        (x,) = tensors
        return x.sum(dim=-1)

    def jax_forward(self, case: Case, *arrays: Any) -> Any:
        (x,) = arrays
        return x.sum(axis=-1)

    def flops(self, case: Case) -> float:
        return float(case["r"] * case["c"])

    def reduction_length(self, case: Case) -> int:
        return case["c"]
