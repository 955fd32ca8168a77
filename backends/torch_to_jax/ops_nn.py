"""Layers: matmuls, convolutions, pooling, normalisation and attention.

Matmuls and convolutions pin lax.Precision.HIGHEST, as the hand-written JAX definitions do (full float32 on
every device; XLA:GPU would otherwise use TF32).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from backends.torch_to_jax.registry import Unavailable, op

HIGHEST = lax.Precision.HIGHEST


def _tuple(value: int | Sequence[int], n: int) -> tuple[int, ...]:
    return (value,) * n if isinstance(value, int) else tuple(value) * (n if len(value) == 1 else 1)


# --- matmuls ---------------------------------------------------------------------------------------------------
@op("mm", "bmm", "matmul")
def matmul(a: Any, b: Any) -> Any:
    return jnp.matmul(a, b, precision=HIGHEST)


@op("addmm", "baddbmm")
def addmm(bias: Any, a: Any, b: Any, *, beta: float = 1, alpha: float = 1) -> Any:
    product = matmul(a, b)
    return (bias if beta == 1 else beta * bias) + (product if alpha == 1 else alpha * product)


@op("linear")
def linear(x: Any, weight: Any, bias: Any = None) -> Any:
    out = jnp.matmul(x, weight.T, precision=HIGHEST)
    return out if bias is None else out + bias


# --- convolution -----------------------------------------------------------------------------------------------
def _dimension_numbers(spatial: int) -> tuple[str, str, str]:
    names = "DHW"[-spatial:] if spatial <= 3 else None
    if names is None:
        raise NotImplementedError(f"convolution with {spatial} spatial dimensions")
    return (f"NC{names}", f"OI{names}", f"NC{names}")


@op("convolution")
def convolution(x: Any, weight: Any, bias: Any, stride: Sequence[int], padding: Sequence[int],
                dilation: Sequence[int], transposed: bool, output_padding: Sequence[int], groups: int) -> Any:
    spatial = weight.ndim - 2
    stride, padding, dilation = (_tuple(v, spatial) for v in (stride, padding, dilation))
    if not transposed:
        out = lax.conv_general_dilated(x, weight, stride, [(p, p) for p in padding], rhs_dilation=dilation,
                                       dimension_numbers=_dimension_numbers(spatial), feature_group_count=groups,
                                       precision=HIGHEST)
    else:
        out = _conv_transpose(x, weight, stride, padding, dilation, _tuple(output_padding, spatial), groups)
    return out if bias is None else out + bias.reshape((1, -1) + (1,) * spatial)


def _conv_transpose(x: Any, weight: Any, stride: tuple[int, ...], padding: tuple[int, ...],
                    dilation: tuple[int, ...], output_padding: tuple[int, ...], groups: int) -> Any:
    # The gradient of a convolution: dilate the input by the stride, pad by the kernel's reach minus the padding,
    # and convolve with the flipped kernel whose in/out channels are swapped within each group.
    cin, cout_g, *kernel = weight.shape
    w = weight.reshape(groups, cin // groups, cout_g, *kernel).swapaxes(1, 2).reshape(groups * cout_g, cin // groups,
                                                                                       *kernel)
    w = jnp.flip(w, tuple(range(2, w.ndim)))
    pads = [(d * (k - 1) - p, d * (k - 1) - p + op_) for k, p, d, op_ in zip(kernel, padding, dilation, output_padding,
                                                                               strict=True)]
    return lax.conv_general_dilated(x, w, (1,) * len(kernel), pads, lhs_dilation=stride, rhs_dilation=dilation,
                                    dimension_numbers=_dimension_numbers(len(kernel)), feature_group_count=groups,
                                    precision=HIGHEST)


# --- pooling ---------------------------------------------------------------------------------------------------
def _pool_geometry(x: Any, kernel: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool,
                   spatial: int) -> tuple[tuple[int, ...], ...]:
    """(kernel, stride, dilation, (low, high) pads, extra high pad from ceil_mode) for the last `spatial` dims."""
    kernel = _tuple(kernel, spatial)
    stride = _tuple(stride, spatial) if stride else kernel  # ATen's empty stride means the kernel size
    padding, dilation = _tuple(padding, spatial), _tuple(dilation, spatial)
    extra = []
    for size, k, s, p, d in zip(x.shape[-spatial:], kernel, stride, padding, dilation, strict=True):
        span = size + 2 * p - d * (k - 1) - 1
        out = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= size + p:  # the last window must start inside the input or left pad
            out -= 1
        extra.append(max(0, (out - 1) * s + d * (k - 1) + 1 - (size + 2 * p)))
    return kernel, stride, dilation, padding, tuple(extra)


def _window(x: Any, init: Any, reducer: Callable[..., Any], geometry: tuple[tuple[int, ...], ...],
            spatial: int) -> Any:
    kernel, stride, dilation, padding, extra = geometry
    lead = x.ndim - spatial
    pads = [(0, 0)] * lead + [(p, p + e) for p, e in zip(padding, extra, strict=True)]
    return lax.reduce_window(x, init, reducer, (1,) * lead + kernel, (1,) * lead + stride, pads,
                             window_dilation=(1,) * lead + dilation)


def _max_pool(spatial: int) -> Callable[..., tuple[Any, Unavailable]]:
    def max_pool(x: Any, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
                 ceil_mode: bool = False) -> tuple[Any, Unavailable]:
        geometry = _pool_geometry(x, kernel_size, stride, padding, dilation, ceil_mode, spatial)
        out = _window(x, jnp.array(-jnp.inf, x.dtype), lax.max, geometry, spatial)
        return out, Unavailable("max-pool indices")
    return max_pool


op("max_pool2d_with_indices")(_max_pool(2))
op("max_pool3d_with_indices")(_max_pool(3))


def _avg_pool(spatial: int) -> Callable[..., Any]:
    def avg_pool(x: Any, kernel_size: Any, stride: Any = (), padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> Any:
        geometry = _pool_geometry(x, kernel_size, stride, padding, 1, ceil_mode, spatial)
        total = _window(x, jnp.array(0, x.dtype), lax.add, geometry, spatial)
        if divisor_override:
            return total / divisor_override
        # The divisor counts the window's cells inside the input, plus its padding if count_include_pad (never
        # the cells ceil_mode adds past the padding): pool a tensor of ones padded with ones or zeros.
        ones = jnp.ones(x.shape[-spatial:], x.dtype)
        if count_include_pad:
            padding = geometry[3]
            ones = jnp.pad(ones, [(p, p) for p in padding], constant_values=1)
            geometry = (*geometry[:3], (0,) * spatial, geometry[4])
        count = _window(ones, jnp.array(0, x.dtype), lax.add, geometry, spatial)
        return total / count
    return avg_pool


op("avg_pool1d")(_avg_pool(1))
op("avg_pool2d")(_avg_pool(2))
op("avg_pool3d")(_avg_pool(3))


def _adaptive(spatial: int, reduce: Callable[..., Any]) -> Callable[..., Any]:
    def adaptive_pool(x: Any, output_size: Sequence[int]) -> Any:
        for axis, out in zip(range(x.ndim - spatial, x.ndim), _tuple(output_size, spatial), strict=True):
            size = x.shape[axis]
            if size % out == 0:  # equal bins: one reshaped reduction
                x = reduce(x.reshape(*x.shape[:axis], out, size // out, *x.shape[axis + 1:]), axis=axis + 1)
                continue
            # Bin i covers [floor(i*size/out), ceil((i+1)*size/out)), as ATen's adaptive pooling does.
            bins = [lax.slice_in_dim(x, i * size // out, -(-(i + 1) * size // out), axis=axis) for i in range(out)]
            x = jnp.stack([reduce(b, axis=axis) for b in bins], axis=axis)
        return x
    return adaptive_pool


op("adaptive_avg_pool1d")(_adaptive(1, jnp.mean))
op("_adaptive_avg_pool2d", "adaptive_avg_pool2d")(_adaptive(2, jnp.mean))
op("_adaptive_avg_pool3d")(_adaptive(3, jnp.mean))


# --- normalisation ---------------------------------------------------------------------------------------------
def _channel(v: Any, ndim: int) -> Any:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


@op("_native_batch_norm_legit_no_training")
def batch_norm_eval(x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any, momentum: float,
                    eps: float) -> tuple[Any, Any, Any]:
    out = (x - _channel(running_mean, x.ndim)) * _channel(lax.rsqrt(running_var + eps), x.ndim)
    if weight is not None:
        out = out * _channel(weight, x.ndim)
    if bias is not None:
        out = out + _channel(bias, x.ndim)
    # Training-only outputs (saved mean and inverse std): empty in eval mode.
    return out, jnp.zeros((0,), x.dtype), jnp.zeros((0,), x.dtype)


@op("native_layer_norm")
def layer_norm(x: Any, normalized_shape: Sequence[int], weight: Any, bias: Any, eps: float) -> tuple[Any, Any, Any]:
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mean = jnp.mean(x, axis=axes, keepdims=True)
    rstd = lax.rsqrt(jnp.mean(jnp.square(x - mean), axis=axes, keepdims=True) + eps)
    out = (x - mean) * rstd
    out = out if weight is None else out * weight
    return (out if bias is None else out + bias), mean, rstd


@op("native_group_norm")
def group_norm(x: Any, weight: Any, bias: Any, n: int, c: int, hxw: int, group: int,
               eps: float) -> tuple[Any, Any, Any]:
    grouped = x.reshape(n, group, -1)
    mean = jnp.mean(grouped, axis=-1, keepdims=True)
    rstd = lax.rsqrt(jnp.var(grouped, axis=-1, keepdims=True) + eps)
    out = ((grouped - mean) * rstd).reshape(x.shape)
    out = out if weight is None else out * _channel(weight, x.ndim)
    out = out if bias is None else out + _channel(bias, x.ndim)
    return out, mean.reshape(n, group), rstd.reshape(n, group)


# --- attention -------------------------------------------------------------------------------------------------
def _attention(q: Any, k: Any, v: Any, attn_mask: Any = None, is_causal: bool = False,
               scale: float | None = None, enable_gqa: bool = False) -> Any:
    if enable_gqa and k.shape[-3] != q.shape[-3]:  # grouped-query attention: share each k/v head
        k, v = (jnp.repeat(t, q.shape[-3] // t.shape[-3], axis=-3) for t in (k, v))
    scores = jnp.matmul(q, jnp.swapaxes(k, -1, -2), precision=HIGHEST) * (scale or 1 / math.sqrt(q.shape[-1]))
    if is_causal:
        causal = jnp.tril(jnp.ones((q.shape[-2], k.shape[-2]), bool))
        scores = jnp.where(causal, scores, -jnp.inf)
    if attn_mask is not None:
        scores = jnp.where(attn_mask, scores, -jnp.inf) if attn_mask.dtype == bool else scores + attn_mask
    return jnp.matmul(jax.nn.softmax(scores, axis=-1), v, precision=HIGHEST)


@op("scaled_dot_product_attention")
def sdpa(q: Any, k: Any, v: Any, attn_mask: Any = None, dropout_p: float = 0.0, is_causal: bool = False, *,
         scale: float | None = None, enable_gqa: bool = False) -> Any:
    return _attention(q, k, v, attn_mask, is_causal, scale, enable_gqa)


@op("_scaled_dot_product_flash_attention_for_cpu")
def sdpa_flash_cpu(q: Any, k: Any, v: Any, dropout_p: float = 0.0, is_causal: bool = False, *,
                   attn_mask: Any = None, scale: float | None = None) -> tuple[Any, Unavailable]:
    return _attention(q, k, v, attn_mask, is_causal, scale), Unavailable("attention logsumexp")
