"""The Llama forward pass as one pure step over a fixed-size KV cache: the common source of the exported paths.

    forward(ids [1, T] int64, position [1] int64, k_cache, v_cache [layers, kv_heads, max_len, head_dim])
        -> (logits of the last position [1, vocab], k_cache, v_cache)

T = P is the prefill (position 0), T = 1 a decode step at `position`. The new keys and values are written at
positions position .. position + T - 1 (index_copy: out of place, so the graph has no mutation), and attention
reads all max_len slots under a mask (key slot <= query position), so one graph of each T serves every step.
This is the static-cache formulation of transformers' StaticCache and of ONNX Runtime GenAI's
past_present_share_buffer, written out so that exporters see the cache as plain inputs and outputs.

It reads the weights of models.llm.llama_model and is an independent definition of the same function:
it is verified against transformers' own model in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.workload import Case


def cache_shape(case: Case) -> tuple[int, int, int, int]:
    """[layers, kv_heads, max_len, head_dim]: room for the prompt and every new token."""
    return (case["layers"], case["kv_heads"], case["prompt"] + case["new_tokens"], case["hidden"] // case["heads"])


def empty_cache(case: Case) -> tuple[np.ndarray, np.ndarray]:
    shape = cache_shape(case)
    return np.zeros(shape, np.float32), np.zeros(shape, np.float32)


def rope_inverse_frequencies(config: Any) -> np.ndarray:
    """transformers' default RoPE: theta^(-2i/head_dim), i < head_dim / 2."""
    head_dim = config.hidden_size // config.num_attention_heads
    theta = float(config.rope_parameters["rope_theta"])
    return 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)


def fixed_cache_step(model: Any) -> Any:
    """An nn.Module computing the step above with `model`'s (a LlamaForCausalLM) weights."""
    import torch

    config = model.config
    heads, kv_heads = config.num_attention_heads, config.num_key_value_heads
    head_dim = config.hidden_size // heads
    eps = float(config.rms_norm_eps)

    def rms_norm(x: Any, weight: Any) -> Any:
        return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def rotate(x: Any, cos: Any, sin: Any) -> Any:
        first, second = x[..., : head_dim // 2], x[..., head_dim // 2:]
        return x * cos + torch.cat((-second, first), dim=-1) * sin

    class FixedCacheStep(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model.model
            self.lm_head = model.lm_head
            self.register_buffer("inv_freq", torch.from_numpy(rope_inverse_frequencies(config)).float(),
                                 persistent=False)

        def forward(self, ids: Any, position: Any, k_cache: Any, v_cache: Any) -> tuple[Any, Any, Any]:
            length, max_len = ids.shape[1], k_cache.shape[2]
            positions = position + torch.arange(length, dtype=torch.int64)
            angles = positions.float()[:, None] * self.inv_freq[None, :]
            cos, sin = torch.cat((angles, angles), -1).cos(), torch.cat((angles, angles), -1).sin()
            visible = torch.arange(max_len, dtype=torch.int64)[None, :] <= positions[:, None]  # [T, max_len]
            x = self.model.embed_tokens(ids)
            keys, values = [], []
            for index, layer in enumerate(self.model.layers):
                attn = layer.self_attn
                h = rms_norm(x, layer.input_layernorm.weight)
                q = attn.q_proj(h).view(1, length, heads, head_dim).transpose(1, 2)
                k = attn.k_proj(h).view(1, length, kv_heads, head_dim).transpose(1, 2)
                v = attn.v_proj(h).view(1, length, kv_heads, head_dim).transpose(1, 2)
                q, k = rotate(q, cos, sin), rotate(k, cos, sin)
                layer_k = k_cache[index].index_copy(1, positions, k[0])
                layer_v = v_cache[index].index_copy(1, positions, v[0])
                keys.append(layer_k)
                values.append(layer_v)
                # Grouped-query attention: each KV head serves heads // kv_heads query heads.
                full_k = layer_k.repeat_interleave(heads // kv_heads, dim=0)
                full_v = layer_v.repeat_interleave(heads // kv_heads, dim=0)
                scores = torch.matmul(q[0], full_k.transpose(1, 2)) * head_dim ** -0.5
                scores = torch.where(visible, scores, torch.finfo(scores.dtype).min)
                context = torch.matmul(torch.softmax(scores, dim=-1), full_v)  # [heads, T, head_dim]
                x = x + attn.o_proj(context.transpose(0, 1).reshape(1, length, heads * head_dim))
                h = rms_norm(x, layer.post_attention_layernorm.weight)
                mlp = layer.mlp
                x = x + mlp.down_proj(torch.nn.functional.silu(mlp.gate_proj(h)) * mlp.up_proj(h))
            last = rms_norm(x[:, -1], self.model.norm.weight)
            return self.lm_head(last), torch.stack(keys), torch.stack(values)

    return FixedCacheStep().eval()


def step_example(case: Case, length: int) -> tuple[Any, ...]:
    """Example arguments of the step for T = `length` (what exporters trace)."""
    import torch

    k_cache, v_cache = empty_cache(case)
    return (torch.zeros((1, length), dtype=torch.int64), torch.zeros((1,), dtype=torch.int64),
            torch.from_numpy(k_cache), torch.from_numpy(v_cache))
