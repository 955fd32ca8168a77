"""Elementwise math, comparisons, reductions and softmax."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from backends.torch_to_jax.registry import OPS, op

# One-argument ops that are the same function in jax.numpy / jax.nn / jax.lax.
_UNARY = {
    "abs": jnp.abs, "neg": jnp.negative, "exp": jnp.exp, "expm1": jnp.expm1, "log": jnp.log, "log1p": jnp.log1p,
    "log2": jnp.log2, "sqrt": jnp.sqrt, "rsqrt": lax.rsqrt, "reciprocal": jnp.reciprocal, "sin": jnp.sin,
    "cos": jnp.cos, "tan": jnp.tan, "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "erf": jax.scipy.special.erf,
    "erfinv": jax.scipy.special.erfinv, "floor": jnp.floor, "ceil": jnp.ceil, "round": jnp.round,
    "trunc": jnp.trunc, "sign": jnp.sign, "relu": jax.nn.relu, "silu": jax.nn.silu, "mish": jax.nn.mish,
    "hardswish": jax.nn.hard_swish, "hardsigmoid": jax.nn.hard_sigmoid, "logical_not": jnp.logical_not,
    "bitwise_not": jnp.invert, "isnan": jnp.isnan, "isinf": jnp.isinf, "atan": jnp.arctan, "asin": jnp.arcsin,
    "acos": jnp.arccos, "sinh": jnp.sinh, "cosh": jnp.cosh,
}
for _name, _fn in _UNARY.items():
    OPS[f"aten.{_name}"] = _fn

# Two-argument ops without extra arguments (tensor or Python scalar on either side).
_BINARY = {
    "mul": jnp.multiply, "maximum": jnp.maximum, "minimum": jnp.minimum, "eq": jnp.equal, "ne": jnp.not_equal,
    "lt": jnp.less, "le": jnp.less_equal, "gt": jnp.greater, "ge": jnp.greater_equal,
    "logical_and": jnp.logical_and, "logical_or": jnp.logical_or, "logical_xor": jnp.logical_xor,
    "bitwise_and": jnp.bitwise_and, "bitwise_or": jnp.bitwise_or, "bitwise_xor": jnp.bitwise_xor,
    "remainder": jnp.remainder, "fmod": jnp.fmod, "atan2": jnp.arctan2, "pow": jnp.power,
    "floor_divide": jnp.floor_divide,
}
for _name, _fn in _BINARY.items():
    OPS[f"aten.{_name}"] = _fn


@op("add")
def add(x: Any, y: Any, alpha: float = 1) -> Any:
    return x + (y if alpha == 1 else alpha * y)


@op("sub")
def sub(x: Any, y: Any, alpha: float = 1) -> Any:
    return x - (y if alpha == 1 else alpha * y)


@op("rsub")
def rsub(x: Any, y: Any, alpha: float = 1) -> Any:
    return sub(y, x, alpha)


@op("div")
def div(x: Any, y: Any, rounding_mode: str | None = None) -> Any:
    if rounding_mode is None:
        return jnp.true_divide(x, y)
    if rounding_mode == "floor":
        return jnp.floor_divide(x, y)
    integral = all(jnp.issubdtype(jnp.result_type(v), jnp.integer) for v in (x, y))
    # Integer division truncates in lax.div, as torch's rounding_mode="trunc" does.
    return lax.div(*jnp.broadcast_arrays(x, y)) if integral else jnp.trunc(jnp.true_divide(x, y))


@op("where")
def where(condition: Any, x: Any, y: Any) -> Any:
    return jnp.where(condition, x, y)


@op("masked_fill")
def masked_fill(x: Any, mask: Any, value: Any) -> Any:
    return jnp.where(mask, jnp.asarray(value, dtype=x.dtype), x)


@op("clamp", "clip")
def clamp(x: Any, min: Any = None, max: Any = None) -> Any:
    if min is not None:
        x = jnp.maximum(x, min)
    return x if max is None else jnp.minimum(x, max)


@op("clamp_min")
def clamp_min(x: Any, min: Any) -> Any:
    return jnp.maximum(x, min)


@op("clamp_max")
def clamp_max(x: Any, max: Any) -> Any:
    return jnp.minimum(x, max)


@op("hardtanh")
def hardtanh(x: Any, min_val: float = -1.0, max_val: float = 1.0) -> Any:
    return jnp.clip(x, min_val, max_val)


@op("gelu")
def gelu(x: Any, approximate: str = "none") -> Any:
    return jax.nn.gelu(x, approximate=approximate == "tanh")


@op("leaky_relu")
def leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:
    return jnp.where(x > 0, x, x * negative_slope)


@op("elu")
def elu(x: Any, alpha: float = 1.0, scale: float = 1.0, input_scale: float = 1.0) -> Any:
    return scale * jnp.where(x > 0, x, alpha * jnp.expm1(x * input_scale))


@op("softplus")
def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    # torch returns x itself above the threshold (linear regime), which also avoids exp overflow.
    return jnp.where(x * beta > threshold, x, jnp.log1p(jnp.exp(x * beta)) / beta)


# --- reductions ------------------------------------------------------------------------------------------------
def _axes(dim: int | Sequence[int] | None) -> tuple[int, ...] | None:
    """ATen's dim argument as jnp axes: None or [] reduce every dimension."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return dims or None


@op("sum")
def sum_(x: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Any:
    return jnp.sum(x, axis=_axes(dim), keepdims=keepdim)


@op("mean")
def mean(x: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Any:
    return jnp.mean(x, axis=_axes(dim), keepdims=keepdim)


@op("prod")
def prod(x: Any, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Any:
    return jnp.prod(x, axis=_axes(dim), keepdims=keepdim)


@op("amax")
def amax(x: Any, dim: Any = (), keepdim: bool = False) -> Any:
    return jnp.max(x, axis=_axes(dim), keepdims=keepdim)


@op("amin")
def amin(x: Any, dim: Any = (), keepdim: bool = False) -> Any:
    return jnp.min(x, axis=_axes(dim), keepdims=keepdim)


@op("any")
def any_(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    return jnp.any(x, axis=_axes(dim), keepdims=keepdim)


@op("all")
def all_(x: Any, dim: Any = None, keepdim: bool = False) -> Any:
    return jnp.all(x, axis=_axes(dim), keepdims=keepdim)


@op("argmax")
def argmax(x: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    return jnp.argmax(x, axis=dim, keepdims=keepdim)


@op("argmin")
def argmin(x: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    return jnp.argmin(x, axis=dim, keepdims=keepdim)


@op("max.dim")
def max_dim(x: Any, dim: int, keepdim: bool = False) -> tuple[Any, Any]:
    return jnp.max(x, axis=dim, keepdims=keepdim), jnp.argmax(x, axis=dim, keepdims=keepdim)


@op("min.dim")
def min_dim(x: Any, dim: int, keepdim: bool = False) -> tuple[Any, Any]:
    return jnp.min(x, axis=dim, keepdims=keepdim), jnp.argmin(x, axis=dim, keepdims=keepdim)


@op("max.default")
def max_all(x: Any) -> Any:
    return jnp.max(x)


@op("min.default")
def min_all(x: Any) -> Any:
    return jnp.min(x)


@op("var")
def var(x: Any, dim: Any = None, *, correction: float | None = None, keepdim: bool = False) -> Any:
    return jnp.var(x, axis=_axes(dim), ddof=1 if correction is None else correction, keepdims=keepdim)


@op("var_mean")
def var_mean(x: Any, dim: Any = None, *, correction: float | None = None, keepdim: bool = False) -> tuple[Any, Any]:
    return var(x, dim, correction=correction, keepdim=keepdim), mean(x, dim, keepdim)


@op("linalg_vector_norm")
def vector_norm(x: Any, ord: float = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
    axes = _axes(dim)
    if ord == float("inf"):
        return jnp.max(jnp.abs(x), axis=axes, keepdims=keepdim)
    return jnp.sum(jnp.abs(x) ** ord, axis=axes, keepdims=keepdim) ** (1.0 / ord)


@op("cumsum")
def cumsum(x: Any, dim: int, *, dtype: Any = None) -> Any:
    return jnp.cumsum(x, axis=dim)


@op("cumprod")
def cumprod(x: Any, dim: int, *, dtype: Any = None) -> Any:
    return jnp.cumprod(x, axis=dim)


@op("_softmax")
def softmax(x: Any, dim: int, half_to_float: bool = False) -> Any:
    return jax.nn.softmax(x, axis=dim)


@op("_log_softmax")
def log_softmax(x: Any, dim: int, half_to_float: bool = False) -> Any:
    return jax.nn.log_softmax(x, axis=dim)
