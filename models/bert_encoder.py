"""BERT-base encoder layers (Devlin et al. 2019): post-LayerNorm self-attention + GELU feed-forward, no dropout.

The input is the already-embedded sequence [batch, seq, hidden] (no token ids, no attention mask): the
embedding lookup is a gather, not what the models suite measures. Attention is written as a torch user writes
it (separate query/key/value Linears, explicit matmul + softmax + matmul), not F.scaled_dot_product_attention,
which some exporters and frontends handle badly. GELU is the erf form, as in BERT (torch's default).

What the zoo does not test: embedded-sequence input (the encoder layers alone, no embedding gather), explicit
attention rather than transformers' scaled_dot_product_attention, and an independent JAX definition.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from models import nn_jax
from models.network import ModelWorkload
from models.workload import Case, Shape

LAYERNORM_EPS = 1e-12  # BERT's


def _bert_case(label: str, layers: int, seq: int, batch: int = 1, hidden: int = 768, heads: int = 12) -> Case:
    return Case.of(label, layers=layers, batch=batch, seq=seq, hidden=hidden, heads=heads, ffn=4 * hidden)


class BertEncoder(ModelWorkload):
    name = "bert_encoder"
    description = "BERT-base encoder layers (hidden 768, 12 heads, FFN 3072, post-LN, erf GELU) on embedded input"
    cases = (
        _bert_case("L1-s128", layers=1, seq=128),
        _bert_case("L4-s128", layers=4, seq=128),
        # Two layers (so the per-layer weight names are exercised) and two sequences (batch and heads kept apart).
        _bert_case("tiny-L2-s8", layers=2, seq=8, batch=2, hidden=32, heads=4),
    )
    default_cases = ("L1-s128", "L4-s128")
    quick_cases = ("L1-s128",)
    tiny_case = "tiny-L2-s8"

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return ((case["batch"], case["seq"], case["hidden"]),)

    def output_shape(self, case: Case) -> Shape:
        return (case["batch"], case["seq"], case["hidden"])

    def build_module(self, case: Case) -> Any:
        return _torch_classes().Encoder(case["layers"], case["hidden"], case["heads"], case["ffn"])

    def extra_reduction_length(self, case: Case) -> int:
        # Per layer: q.k sums head_dim products, p.v sums seq weighted values.
        return case["layers"] * (case["hidden"] // case["heads"] + case["seq"])

    def jax_apply(self, params: dict[str, Any], case: Case, *inputs: Any) -> Any:
        (x,) = inputs
        for i in range(case["layers"]):
            x = _jax_layer(params, f"layers.{i}", x, case["heads"])
        return x


def _jax_layer(params: dict[str, Any], prefix: str, x: Any, heads: int) -> Any:
    def heads_of(name: str) -> Any:
        return nn_jax.split_heads(nn_jax.linear(params, f"{prefix}.{name}", x), heads)

    context = nn_jax.merge_heads(nn_jax.attention(heads_of("query"), heads_of("key"), heads_of("value"), causal=False))
    x = nn_jax.layernorm(params, f"{prefix}.attn_norm", x + nn_jax.linear(params, f"{prefix}.attn_out", context),
                         LAYERNORM_EPS)
    ffn = nn_jax.linear(params, f"{prefix}.ffn_in", x)
    ffn = nn_jax.linear(params, f"{prefix}.ffn_out", nn_jax.gelu(ffn, approximate=False))
    return nn_jax.layernorm(params, f"{prefix}.ffn_norm", x + ffn, LAYERNORM_EPS)


@functools.cache
def _torch_classes() -> SimpleNamespace:
    """The torch modules, defined on first use so that importing this file does not import torch."""
    import torch
    from torch import nn

    class EncoderLayer(nn.Module):
        def __init__(self, hidden: int, heads: int, ffn: int) -> None:
            super().__init__()
            self.heads, self.head_dim = heads, hidden // heads
            self.query = nn.Linear(hidden, hidden)
            self.key = nn.Linear(hidden, hidden)
            self.value = nn.Linear(hidden, hidden)
            self.attn_out = nn.Linear(hidden, hidden)
            self.attn_norm = nn.LayerNorm(hidden, eps=LAYERNORM_EPS)
            self.ffn_in = nn.Linear(hidden, ffn)
            self.gelu = nn.GELU()
            self.ffn_out = nn.Linear(ffn, hidden)
            self.ffn_norm = nn.LayerNorm(hidden, eps=LAYERNORM_EPS)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            batch, seq, hidden = x.shape

            def split(t: torch.Tensor) -> torch.Tensor:  # [B, S, H*D] -> [B, H, S, D]
                return t.view(batch, seq, self.heads, self.head_dim).transpose(1, 2)

            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            scores = torch.matmul(q, k.transpose(-1, -2)) * self.head_dim**-0.5
            context = torch.matmul(torch.softmax(scores, dim=-1), v)
            context = context.transpose(1, 2).reshape(batch, seq, hidden)
            x = self.attn_norm(x + self.attn_out(context))
            return self.ffn_norm(x + self.ffn_out(self.gelu(self.ffn_in(x))))

    class Encoder(nn.Module):
        def __init__(self, layers: int, hidden: int, heads: int, ffn: int) -> None:
            super().__init__()
            # torch's default Linear init (uniform weights and biases): every bias non-zero, so a dropped one shows.
            self.layers = nn.ModuleList(EncoderLayer(hidden, heads, ffn) for _ in range(layers))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for layer in self.layers:
                x = layer(x)
            return x

    return SimpleNamespace(Encoder=Encoder)
