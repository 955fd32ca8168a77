"""The JAX function that XLA and IREE's StableHLO path compile for a workload.

A workload's own hand-written JAX definition when it has one (an independent definition of the same function is
part of what is compared); otherwise its torch definition through the torch.export bridge (backends/torch_to_jax).
details["jax_definition"] records which one a cell compiled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from backends.base import Unsupported
from models.workload import Case, Workload

HAND_WRITTEN = "hand-written"
BRIDGE = "torch.export bridge"


def jax_function(workload: Workload, case: Case, inputs: tuple[np.ndarray, ...],
                 storage: str = "float32") -> tuple[Callable[..., Any], dict[str, Any]]:
    """(fn(*arrays), details): the workload in JAX, with floats stored in `storage` (a jnp dtype name)."""
    if "jax" in workload.definitions:
        return _hand_written(workload, case, storage), {"jax_definition": HAND_WRITTEN}
    if "torch" not in workload.definitions:
        raise Unsupported(f"{workload.name} has neither a JAX nor a torch definition")
    from backends.torch_to_jax import BridgeError, bridge

    start = time.perf_counter()
    try:
        bridged = bridge(workload.torch_module(case), inputs, float_dtype=None if storage == "float32" else storage)
    except BridgeError as exc:
        raise Unsupported(f"torch->JAX bridge: {exc}") from exc
    import jax.numpy as jnp

    # Closed over as constants, as a deployed JAX model holds its weights (the graph casts them to `storage`).
    params = {k: jnp.asarray(v) for k, v in bridged.params.items()}
    details = {"jax_definition": BRIDGE, "bridge_export_s": bridged.export_s,
               "bridge_s": time.perf_counter() - start, "bridge_aten_ops": list(bridged.ops)}
    return (lambda *xs: bridged.fn(params, *xs)), details


def _hand_written(workload: Workload, case: Case, storage: str) -> Callable[..., Any]:
    if storage == "float32" or workload.kind != "model":
        return lambda *xs: workload.jax_forward(case, *xs)
    import jax.numpy as jnp

    model: Any = workload  # a ModelWorkload: params() and jax_apply()
    # A model's jax_forward closes over float32 weights, which would promote every layer back to float32:
    # give jax_apply the weights in the cell's precision instead.
    params = {k: jnp.asarray(v, dtype=jnp.dtype(storage)) for k, v in model.params(case).items()}
    return lambda *xs: model.jax_apply(params, case, *xs)


def jax_inputs(inputs: tuple[np.ndarray, ...], storage: str = "float32") -> tuple[np.ndarray, ...]:
    """Inputs as JAX holds them: floats in `storage`, int64 token ids as int32 unless jax_enable_x64."""
    import jax
    import jax.numpy as jnp

    def convert(a: np.ndarray) -> np.ndarray:
        if np.issubdtype(a.dtype, np.floating):
            return np.asarray(a).astype(jnp.dtype(storage))
        return np.asarray(a).astype(jax.dtypes.canonicalize_dtype(a.dtype))
    return tuple(convert(a) for a in inputs)
