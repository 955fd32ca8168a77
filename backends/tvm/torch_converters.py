"""Converters that make TVM's torch.export frontend (TVM 0.27) follow torch's semantics where it does not.

`cumsum`: torch sums a bool or integer tensor in int64 (its type promotion); TVM's converter keeps the input dtype.
transformers' causal-mask code traces `(position_diff != 1).cumsum(-1)` (masking_utils.find_packed_sequence_indices),
so GPT-2 and SmolLM reached LLVM with an add on bools and failed to compile ("Check failed:
t.MatchesCode(kDLFloat)"); a bool cumsum that compiled would also saturate at 1 instead of counting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# torch.cumsum's result dtype for these input dtypes when no dtype is given.
_PROMOTED_TO_INT64 = ("bool", "int8", "int16", "int32", "uint8")


def cumsum(node: Any, importer: Any) -> Any:
    """aten.cumsum.default with torch's dtype promotion."""
    from tvm import relax

    x = importer.env[node.args[0]]
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    dtype = node.kwargs.get("dtype")
    if dtype is not None:
        dtype = importer._convert_data_type(str(dtype), importer.env)
    elif x.ty.dtype in _PROMOTED_TO_INT64:
        dtype = "int64"
    return importer.block_builder.emit(relax.op.cumsum(x, dim, dtype))


CONVERTERS: dict[str, Callable[[Any, Any], Any]] = {"cumsum.default": cumsum}
