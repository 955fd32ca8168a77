"""The table of lowerings: ATen op name -> a function on jax arrays taking the op's own arguments.

Keys are an overload ("aten.add.Tensor") or its packet ("aten.add"); an overload key wins. Each lowering gets
the node's positional and keyword arguments exactly as ATen's schema orders them, with tensors replaced by jax
arrays; its result is then cast to the dtype torch recorded for the node (see interpreter.conform), so a lowering
only has to get the values and shape right, not torch's type promotion.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

Lowering = Callable[..., Any]
F = TypeVar("F", bound=Lowering)

OPS: dict[str, Lowering] = {}
NAMESPACES = ("aten.", "prims.")
_FAMILIES = ("ops_math", "ops_shape", "ops_nn")


def op(*names: str) -> Callable[[F], F]:
    """Register a lowering under one or more names ("add" means "aten.add", "max.dim" "aten.max.dim")."""
    def register(fn: F) -> F:
        for name in names:
            OPS[name if name.startswith(NAMESPACES) else f"aten.{name}"] = fn
        return fn
    return register


def lowering_for(target: Any) -> Lowering | None:
    """The lowering of an OpOverload, or None if the bridge has none."""
    if not OPS:  # the op families register themselves on import
        for family in _FAMILIES:
            importlib.import_module(f"{__package__}.{family}")
    packet = getattr(target, "overloadpacket", None)
    return OPS.get(str(target)) or (OPS.get(str(packet)) if packet is not None else None)


def covered_ops() -> list[str]:
    """Every op name the bridge lowers (for docs and error messages)."""
    lowering_for(None)
    return sorted(OPS)


class Unavailable:
    """An output a lowering does not compute (e.g. max-pool indices); the interpreter refuses any use of it."""

    def __init__(self, what: str) -> None:
        self.what = what
