"""Dense matrix multiplication C[M,N] = A[M,K] @ B[K,N]: square sizes and LLM-like projections."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.workload import Case, Shape, Workload


class Matmul(Workload):
    name = "matmul"
    description = "C = A @ B, float32 (square sizes and LLM-like projections)"
    cases = (
        Case.of("256x256x256", m=256, k=256, n=256),
        Case.of("512x512x512", m=512, k=512, n=512),
        Case.of("1024x1024x1024", m=1024, k=1024, n=1024),
        Case.of("2048x2048x2048", m=2048, k=2048, n=2048),
        # Decoding one token through a 4096-wide projection (GEMV-like, memory bound).
        Case.of("1x4096x4096", m=1, k=4096, n=4096),
        # BERT-base FFN up-projection on 128 tokens.
        Case.of("128x768x3072", m=128, k=768, n=3072),
        Case.of("tiny-8x16x12", m=8, k=16, n=12),
        # Small squares for the schedule study's sweep of the size at which threads start to pay.
        Case.of("64x64x64", m=64, k=64, n=64),
        Case.of("128x128x128", m=128, k=128, n=128),
    )
    default_cases = ("256x256x256", "512x512x512", "1024x1024x1024", "2048x2048x2048", "1x4096x4096", "128x768x3072")
    quick_cases = ("256x256x256",)
    tiny_case = "tiny-8x16x12"

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return (case["m"], case["k"]), (case["k"], case["n"])

    def output_shape(self, case: Case) -> Shape:
        return case["m"], case["n"]

    def make_inputs(self, case: Case, seed: int = 0) -> tuple[np.ndarray, ...]:
        # Scale B by 1/sqrt(K) so outputs stay O(1) whatever K is.
        a, b = super().make_inputs(case, seed)
        return a, (b / np.float32(np.sqrt(case["k"]))).astype(np.float32)

    def numpy_forward(self, case: Case, *arrays: np.ndarray) -> np.ndarray:
        a, b = arrays
        return a @ b

    def torch_forward(self, case: Case, *tensors: Any) -> Any:
        a, b = tensors
        return a @ b

    def jax_forward(self, case: Case, *arrays: Any) -> Any:
        a, b = arrays
        return a @ b

    def flops(self, case: Case) -> float:
        return 2.0 * case["m"] * case["k"] * case["n"]

    def reduction_length(self, case: Case) -> int:
        return case["k"]
