"""MLP: the seeds' Linear -> ReLU -> Linear, at the width of a transformer feed-forward block.

What the zoo does not test: the smallest end-to-end network, cheap enough for every backend's import path in the
tests.
"""

from __future__ import annotations

from typing import Any

from models.network import ModelWorkload
from models.workload import Case, Shape


class Mlp(ModelWorkload):
    name = "mlp"
    description = "Linear(1024->4096) -> ReLU -> Linear(4096->1024), batch 1 and 32"
    cases = (
        Case.of("b1", batch=1, d_in=1024, hidden=4096, d_out=1024),
        Case.of("b32", batch=32, d_in=1024, hidden=4096, d_out=1024),
        Case.of("tiny-b2", batch=2, d_in=16, hidden=32, d_out=8),
    )
    default_cases = ("b1", "b32")
    quick_cases = ("b1",)
    tiny_case = "tiny-b2"

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return ((case["batch"], case["d_in"]),)

    def output_shape(self, case: Case) -> Shape:
        return (case["batch"], case["d_out"])

    def build_module(self, case: Case) -> Any:
        import torch

        return torch.nn.Sequential(
            torch.nn.Linear(case["d_in"], case["hidden"]),
            torch.nn.ReLU(),
            torch.nn.Linear(case["hidden"], case["d_out"]),
        )

    def jax_apply(self, params: dict[str, Any], case: Case, *inputs: Any) -> Any:
        import jax.numpy as jnp

        (x,) = inputs
        h = jnp.maximum(x @ params["0.weight"].T + params["0.bias"], 0.0)
        return h @ params["2.weight"].T + params["2.bias"]
