"""A small GPT-style decoder stack (GPT-2 / nanoGPT layout): pre-LayerNorm causal self-attention + GELU MLP.

4 layers, hidden 512, 8 heads, MLP 4x, final LayerNorm, on an already-embedded sequence [batch, seq, hidden]
(no token ids, no LM head). One fused qkv Linear per layer (as GPT-2's c_attn), explicit matmul + softmax +
matmul attention with a causal mask built from the static sequence length and filled with -1e9 (finite, so no
NaN can appear), and the tanh GELU of GPT-2 (BERT uses the erf form: between them both lowerings are covered).

What the zoo does not test: embedded-sequence input (the decoder blocks alone, no embedding or LM head), sequence
512, explicit masked attention rather than transformers' scaled_dot_product_attention, and an independent JAX
definition.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from models import nn_jax
from models.network import ModelWorkload
from models.workload import Case, Shape

LAYERNORM_EPS = 1e-5


def _gpt_case(label: str, seq: int, batch: int = 1, layers: int = 4, hidden: int = 512, heads: int = 8) -> Case:
    return Case.of(label, layers=layers, batch=batch, seq=seq, hidden=hidden, heads=heads)


class GptDecoder(ModelWorkload):
    name = "gpt_decoder"
    description = "GPT-style decoder: 4 pre-LN layers, hidden 512, 8 heads, causal attention, tanh-GELU MLP 4x"
    cases = (
        _gpt_case("s128", seq=128),
        _gpt_case("s512", seq=512),
        # Two layers and two sequences; 8 positions is enough for the mask to matter on every row but the last.
        _gpt_case("tiny-L2-s8", seq=8, batch=2, layers=2, hidden=32, heads=4),
    )
    default_cases = ("s128", "s512")
    quick_cases = ()
    tiny_case = "tiny-L2-s8"

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return ((case["batch"], case["seq"], case["hidden"]),)

    def output_shape(self, case: Case) -> Shape:
        return (case["batch"], case["seq"], case["hidden"])

    def build_module(self, case: Case) -> Any:
        return _torch_classes().Decoder(case["layers"], case["hidden"], case["heads"])

    def extra_reduction_length(self, case: Case) -> int:
        # Per layer: q.k sums head_dim products, p.v up to seq weighted values (the last row sees them all).
        return case["layers"] * (case["hidden"] // case["heads"] + case["seq"])

    def jax_apply(self, params: dict[str, Any], case: Case, *inputs: Any) -> Any:
        (x,) = inputs
        for i in range(case["layers"]):
            x = _jax_block(params, f"blocks.{i}", x, case["heads"])
        return nn_jax.layernorm(params, "ln_f", x, LAYERNORM_EPS)


def _jax_block(params: dict[str, Any], prefix: str, x: Any, heads: int) -> Any:
    import jax.numpy as jnp

    qkv = nn_jax.linear(params, f"{prefix}.attn.qkv", nn_jax.layernorm(params, f"{prefix}.ln_1", x, LAYERNORM_EPS))
    q, k, v = (nn_jax.split_heads(t, heads) for t in jnp.split(qkv, 3, axis=-1))
    x = x + nn_jax.linear(params, f"{prefix}.attn.proj", nn_jax.merge_heads(nn_jax.attention(q, k, v, causal=True)))
    h = nn_jax.linear(params, f"{prefix}.mlp.fc", nn_jax.layernorm(params, f"{prefix}.ln_2", x, LAYERNORM_EPS))
    return x + nn_jax.linear(params, f"{prefix}.mlp.proj", nn_jax.gelu(h, approximate=True))


@functools.cache
def _torch_classes() -> SimpleNamespace:
    """The torch modules, defined on first use so that importing this file does not import torch."""
    import torch
    from torch import nn

    class CausalSelfAttention(nn.Module):
        def __init__(self, hidden: int, heads: int) -> None:
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(hidden, 3 * hidden)
            self.proj = nn.Linear(hidden, hidden)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            batch, seq, hidden = x.shape
            q, k, v = (t.view(batch, seq, self.heads, hidden // self.heads).transpose(1, 2)
                       for t in self.qkv(x).split(hidden, dim=-1))
            scores = torch.matmul(q, k.transpose(-1, -2)) * (hidden // self.heads) ** -0.5
            # Built from the static sequence length: a constant once exported or traced.
            causal = torch.ones(seq, seq, dtype=torch.bool, device=x.device).tril()
            scores = scores.masked_fill(~causal, nn_jax.MASK_FILL)
            context = torch.matmul(torch.softmax(scores, dim=-1), v)
            return self.proj(context.transpose(1, 2).reshape(batch, seq, hidden))

    class Mlp(nn.Module):
        def __init__(self, hidden: int) -> None:
            super().__init__()
            self.fc = nn.Linear(hidden, 4 * hidden)
            self.gelu = nn.GELU(approximate="tanh")
            self.proj = nn.Linear(4 * hidden, hidden)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.proj(self.gelu(self.fc(x)))

    class Block(nn.Module):
        def __init__(self, hidden: int, heads: int) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(hidden, eps=LAYERNORM_EPS)
            self.attn = CausalSelfAttention(hidden, heads)
            self.ln_2 = nn.LayerNorm(hidden, eps=LAYERNORM_EPS)
            self.mlp = Mlp(hidden)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class Decoder(nn.Module):
        def __init__(self, layers: int, hidden: int, heads: int) -> None:
            super().__init__()
            # torch's default Linear init (uniform weights and biases): every bias non-zero, so a dropped one shows.
            self.blocks = nn.ModuleList(Block(hidden, heads) for _ in range(layers))
            self.ln_f = nn.LayerNorm(hidden, eps=LAYERNORM_EPS)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for block in self.blocks:
                x = block(x)
            return self.ln_f(x)

    return SimpleNamespace(Decoder=Decoder)
