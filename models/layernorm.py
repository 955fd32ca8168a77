"""Layer normalisation over the last axis with affine gamma/beta (torch semantics: biased variance, eps 1e-5)."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.workload import Case, Shape, Workload

EPS = 1e-5


class LayerNorm(Workload):
    name = "layernorm"
    description = "layernorm(x[R,C]) * gamma[C] + beta[C] over the last axis, eps=1e-5, float32"
    cases = (
        # BERT-base hidden states for 128 tokens.
        Case.of("128x768", r=128, c=768),
        # BERT-large width over 2048 tokens (e.g. 4 sequences of 512).
        Case.of("2048x1024", r=2048, c=1024),
        # LLM-like width (4096) over 4096 tokens.
        Case.of("4096x4096", r=4096, c=4096),
        Case.of("tiny-6x45", r=6, c=45),
    )
    default_cases = ("2048x1024",)
    quick_cases = ("128x768",)
    tiny_case = "tiny-6x45"

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return (case["r"], case["c"]), (case["c"],), (case["c"],)

    def output_shape(self, case: Case) -> Shape:
        return case["r"], case["c"]

    def make_inputs(self, case: Case, seed: int = 0) -> tuple[np.ndarray, ...]:
        # Trained-looking affine parameters: gamma near 1, beta near 0 (both perturbed so neither is a no-op).
        x, gamma, beta = super().make_inputs(case, seed)
        return x, (1.0 + 0.1 * gamma).astype(np.float32), (0.1 * beta).astype(np.float32)

    def numpy_forward(self, case: Case, *arrays: np.ndarray) -> np.ndarray:
        x, gamma, beta = arrays
        centred = x - x.mean(axis=-1, keepdims=True)
        var = np.mean(centred * centred, axis=-1, keepdims=True)
        return centred / np.sqrt(var + EPS) * gamma + beta

    def torch_forward(self, case: Case, *tensors: Any) -> Any:
        import torch

        x, gamma, beta = tensors
        return torch.nn.functional.layer_norm(x, (case["c"],), gamma, beta, eps=EPS)

    def jax_forward(self, case: Case, *arrays: Any) -> Any:
        import jax
        import jax.numpy as jnp

        x, gamma, beta = arrays
        centred = x - jnp.mean(x, axis=-1, keepdims=True)
        var = jnp.mean(centred * centred, axis=-1, keepdims=True)
        return centred * jax.lax.rsqrt(var + EPS) * gamma + beta

    def flops(self, case: Case) -> float:
        # Per element: add to the mean, subtract it, square, add to the variance, scale by 1/std, gamma, beta.
        return 7.0 * case["r"] * case["c"]

    def reduction_length(self, case: Case) -> int:
        return case["c"]
