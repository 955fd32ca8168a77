"""A torch -> JAX bridge: a torch module through torch.export and core ATen to a pure, jit-able JAX function.

It lets XLA and IREE's StableHLO path compile workloads that have only a torch definition. The op lowerings are
split by family (ops_math, ops_shape, ops_nn); an op without one is refused with its name (UnsupportedOp).
"""

from backends.torch_to_jax.interpreter import (
    Bridged,
    BridgeError,
    LoweringMismatch,
    UnsupportedOp,
    bridge,
    export_core_aten,
)
from backends.torch_to_jax.registry import covered_ops

__all__ = ["BridgeError", "Bridged", "LoweringMismatch", "UnsupportedOp", "bridge", "covered_ops",
           "export_core_aten"]
