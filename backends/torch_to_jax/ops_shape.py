"""Views, indexing, joins and splits, and tensor creation.

Functionalised graphs have no aliasing left: a view is a fresh value here, and creation ops' dtype/device/layout
arguments are ignored because the interpreter casts every result to the dtype torch recorded for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import lax

from backends.torch_to_jax.registry import op


def _norm(dim: int, rank: int) -> int:
    return dim + rank if dim < 0 else dim


@op("view", "_unsafe_view", "reshape", "view_copy")
def view(x: Any, shape: Sequence[int]) -> Any:
    return jnp.reshape(x, tuple(shape))


@op("permute")
def permute(x: Any, dims: Sequence[int]) -> Any:
    return jnp.transpose(x, tuple(dims))


@op("transpose")
def transpose(x: Any, dim0: int, dim1: int) -> Any:
    return jnp.swapaxes(x, dim0, dim1)


@op("t", "numpy_T")
def t(x: Any) -> Any:
    return x.T


@op("expand")
def expand(x: Any, size: Sequence[int], *, implicit: bool = False) -> Any:
    # -1 keeps a dimension; new dimensions are added on the left.
    lead = len(size) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(size))
    return jnp.broadcast_to(x, shape)


@op("unsqueeze")
def unsqueeze(x: Any, dim: int) -> Any:
    return jnp.expand_dims(x, dim)


@op("squeeze")
def squeeze(x: Any, dim: int | Sequence[int] | None = None) -> Any:
    dims = range(x.ndim) if dim is None else [dim] if isinstance(dim, int) else dim
    # torch leaves a dimension whose size is not 1 alone, where jnp would raise.
    return jnp.squeeze(x, tuple(d for d in (_norm(d, x.ndim) for d in dims) if x.shape[d] == 1))


@op("clone", "alias", "detach", "lift_fresh_copy", "contiguous", "_to_copy")
def identity(x: Any, *args: Any, **kwargs: Any) -> Any:
    return x


@op("copy")
def copy(x: Any, src: Any, non_blocking: bool = False) -> Any:
    return jnp.broadcast_to(src, x.shape)


@op("slice")
def slice_(x: Any, dim: int = 0, start: int | None = None, end: int | None = None, step: int = 1) -> Any:
    index = [slice(None)] * x.ndim
    index[dim] = slice(start, end, step)  # Python's slice clips an end past the size, as ATen does
    return x[tuple(index)]


@op("select")
def select(x: Any, dim: int, index: int) -> Any:
    dim = _norm(dim, x.ndim)
    return lax.index_in_dim(x, index + x.shape[dim] if index < 0 else index, dim, keepdims=False)


@op("narrow")
def narrow(x: Any, dim: int, start: int, length: int) -> Any:
    return slice_(x, dim, start, start + length)


@op("cat", "concat")
def cat(tensors: Sequence[Any], dim: int = 0) -> Any:
    # ATen skips legacy empty 1-d tensors in a cat of higher rank.
    kept = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or list(tensors)
    return jnp.concatenate(kept, axis=dim)


@op("stack")
def stack(tensors: Sequence[Any], dim: int = 0) -> Any:
    return jnp.stack(tensors, axis=dim)


@op("split", "split_with_sizes")
def split(x: Any, split_size: int | Sequence[int], dim: int = 0) -> list[Any]:
    size = x.shape[dim]
    sizes = [split_size] * -(-size // split_size) if isinstance(split_size, int) else list(split_size)
    bounds = np.cumsum(sizes)[:-1].tolist()
    return jnp.split(x, bounds, axis=dim)


@op("unbind")
def unbind(x: Any, dim: int = 0) -> list[Any]:
    return [select(x, dim, i) for i in range(x.shape[dim])]


@op("flip")
def flip(x: Any, dims: Sequence[int]) -> Any:
    return jnp.flip(x, tuple(dims))


@op("roll")
def roll(x: Any, shifts: Sequence[int], dims: Sequence[int] = ()) -> Any:
    return jnp.roll(x, tuple(shifts), tuple(dims) or None)


@op("repeat")
def repeat(x: Any, repeats: Sequence[int]) -> Any:
    return jnp.tile(x, tuple(repeats))


@op("tril")
def tril(x: Any, diagonal: int = 0) -> Any:
    return jnp.tril(x, diagonal)


@op("triu")
def triu(x: Any, diagonal: int = 0) -> Any:
    return jnp.triu(x, diagonal)


@op("constant_pad_nd")
def constant_pad_nd(x: Any, pad: Sequence[int], value: float = 0) -> Any:
    # ATen lists (low, high) pairs from the last dimension backwards; negative pads crop, as lax.pad does.
    config = [(0, 0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        config[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1], 0)
    return lax.pad(x, jnp.asarray(value, dtype=x.dtype), config)


@op("as_strided")
def as_strided(x: Any, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None) -> Any:
    # Reads x's elements in row-major order: exact for the contiguous tensors a functionalised graph produces.
    index = np.asarray(storage_offset or 0)
    for axis, (n, s) in enumerate(zip(size, stride, strict=True)):
        shape = [1] * len(size)
        shape[axis] = n
        index = index + (np.arange(n) * s).reshape(shape)
    return jnp.reshape(x, (-1,))[index]


# --- indexing with tensors -------------------------------------------------------------------------------------
@op("index")
def index(x: Any, indices: Sequence[Any | None]) -> Any:
    # NumPy's advanced indexing (and where it puts the indexed dimensions) is the one torch follows.
    return x[tuple(slice(None) if i is None else i for i in indices)]


@op("index_put")
def index_put(x: Any, indices: Sequence[Any | None], values: Any, accumulate: bool = False) -> Any:
    where = x.at[tuple(slice(None) if i is None else i for i in indices)]
    return where.add(values) if accumulate else where.set(values)


@op("index_select")
def index_select(x: Any, dim: int, index: Any) -> Any:
    return jnp.take(x, index, axis=dim)


@op("gather")
def gather(x: Any, dim: int, index: Any, sparse_grad: bool = False) -> Any:
    return jnp.take_along_axis(x, index, axis=dim)


@op("embedding")
def embedding(weight: Any, indices: Any, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Any:
    return jnp.take(weight, indices, axis=0)


# --- creation --------------------------------------------------------------------------------------------------
@op("full")
def full(size: Sequence[int], fill_value: Any, **_: Any) -> Any:
    return jnp.full(tuple(size), fill_value)


@op("full_like")
def full_like(x: Any, fill_value: Any, **_: Any) -> Any:
    return jnp.full(x.shape, fill_value)


@op("new_full")
def new_full(x: Any, size: Sequence[int], fill_value: Any, **_: Any) -> Any:
    return jnp.full(tuple(size), fill_value)


@op("scalar_tensor")
def scalar_tensor(value: Any, **_: Any) -> Any:
    return jnp.asarray(value)


# Uninitialised memory in torch: zeros are one valid content.
@op("zeros", "empty")
def zeros(size: Sequence[int], **_: Any) -> Any:
    return jnp.zeros(tuple(size))


@op("ones")
def ones(size: Sequence[int], **_: Any) -> Any:
    return jnp.ones(tuple(size))


@op("new_zeros", "new_empty")
def new_zeros(x: Any, size: Sequence[int], **_: Any) -> Any:
    return jnp.zeros(tuple(size))


@op("new_ones")
def new_ones(x: Any, size: Sequence[int], **_: Any) -> Any:
    return jnp.ones(tuple(size))


@op("zeros_like", "empty_like")
def zeros_like(x: Any, **_: Any) -> Any:
    return jnp.zeros(x.shape)


@op("ones_like")
def ones_like(x: Any, **_: Any) -> Any:
    return jnp.ones(x.shape)


@op("arange")
def arange(*bounds: Any, **_: Any) -> Any:
    return jnp.arange(*bounds)


@op("iota", "prims.iota")
def iota(length: int, *, start: int = 0, step: int = 1, **_: Any) -> Any:
    return jnp.arange(start, start + length * step, step)


# Runtime checks torch.export leaves in the graph; shapes and dtypes are static here, and conform checks them.
@op("_assert_tensor_metadata", "_assert_scalar", "_assert_async", "sym_constrain_range_for_size")
def assertion(*args: Any, **kwargs: Any) -> None:
    return None
