"""JAX layers shared by the models' `jax_apply` definitions, each matching its torch counterpart op for op.

Weights are read from `params` by torch state-dict name (`prefix` + ".weight" etc.), in torch's layouts:
Linear weight [out, in], Conv2d weight [out, in/groups, kh, kw], activations NCHW. Every matmul and
convolution runs at Precision.HIGHEST: XLA:GPU would otherwise use TF32, which the float32 tolerance rejects.
jax is imported inside each function, like everywhere in models/ (thread settings come before the import).
"""

from __future__ import annotations

from typing import Any

Params = dict[str, Any]


def _highest() -> Any:
    import jax

    return jax.lax.Precision.HIGHEST


def matmul(a: Any, b: Any) -> Any:
    """a @ b (batched over leading dimensions) at full float32 precision."""
    import jax.numpy as jnp

    return jnp.matmul(a, b, precision=_highest())


def linear(params: Params, prefix: str, x: Any) -> Any:
    """torch.nn.Linear: x @ W^T + b over the last axis."""
    out = matmul(x, params[f"{prefix}.weight"].T)
    bias = params.get(f"{prefix}.bias")
    return out if bias is None else out + bias


def conv2d(params: Params, prefix: str, x: Any, stride: int = 1, padding: int = 0, groups: int = 1) -> Any:
    """torch.nn.Conv2d on NCHW input with an OIHW weight (bias added only if the layer has one)."""
    import jax

    out = jax.lax.conv_general_dilated(
        x,
        params[f"{prefix}.weight"],
        window_strides=(stride, stride),
        padding=((padding, padding), (padding, padding)),
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        feature_group_count=groups,
        precision=_highest(),
    )
    bias = params.get(f"{prefix}.bias")
    return out if bias is None else out + bias[None, :, None, None]


def batchnorm2d(params: Params, prefix: str, x: Any, eps: float = 1e-5) -> Any:
    """Eval-mode torch.nn.BatchNorm2d: (x - running_mean) / sqrt(running_var + eps) * weight + bias, per channel."""
    import jax.numpy as jnp

    def channel(name: str) -> Any:
        return params[f"{prefix}.{name}"][None, :, None, None]

    scale = channel("weight") / jnp.sqrt(channel("running_var") + eps)
    return (x - channel("running_mean")) * scale + channel("bias")


def layernorm(params: Params, prefix: str, x: Any, eps: float) -> Any:
    """torch.nn.LayerNorm over the last axis (biased variance, as torch)."""
    import jax

    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + eps) * params[f"{prefix}.weight"] + params[f"{prefix}.bias"]


def max_pool2d(x: Any, kernel: int, stride: int, padding: int) -> Any:
    """torch.nn.MaxPool2d on NCHW (padding is -inf, as in torch)."""
    import jax
    import jax.numpy as jnp

    pad = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, kernel, kernel), (1, 1, stride, stride), pad)


def global_avg_pool(x: Any) -> Any:
    """AdaptiveAvgPool2d(1) + flatten: NCHW -> NC."""
    return x.mean(axis=(2, 3))


def relu(x: Any) -> Any:
    import jax.numpy as jnp

    return jnp.maximum(x, 0.0)


def relu6(x: Any) -> Any:
    import jax.numpy as jnp

    return jnp.clip(x, 0.0, 6.0)


def gelu(x: Any, approximate: bool) -> Any:
    """torch.nn.GELU: erf form (approximate=False, torch's default) or the tanh form ("tanh")."""
    import jax

    return jax.nn.gelu(x, approximate=approximate)


def split_heads(x: Any, heads: int) -> Any:
    """[B, S, H*D] -> [B, H, S, D], as x.view(B, S, H, D).transpose(1, 2)."""
    batch, seq, width = x.shape
    return x.reshape(batch, seq, heads, width // heads).transpose(0, 2, 1, 3)


def merge_heads(x: Any) -> Any:
    """[B, H, S, D] -> [B, S, H*D], as x.transpose(1, 2).reshape(B, S, H*D)."""
    batch, heads, seq, dim = x.shape
    return x.transpose(0, 2, 1, 3).reshape(batch, seq, heads * dim)


# The causal mask's fill: large and finite (a row never is fully masked, but -inf would turn one into NaN).
MASK_FILL = -1e9


def attention(q: Any, k: Any, v: Any, causal: bool) -> Any:
    """softmax(q k^T * D^-0.5 [+ causal mask]) v on [B, H, S, D], in the torch models' op order."""
    import jax
    import jax.numpy as jnp

    seq, dim = q.shape[-2], q.shape[-1]
    scores = matmul(q, jnp.swapaxes(k, -1, -2)) * dim**-0.5
    if causal:  # static: the mask depends on the (static) sequence length only
        scores = jnp.where(jnp.tril(jnp.ones((seq, seq), dtype=bool)), scores, MASK_FILL)
    return matmul(jax.nn.softmax(scores, axis=-1), v)
