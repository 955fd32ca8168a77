"""The fixed-cache step (models/llm_step.py) as pure JAX functions, through the torch.export -> JAX bridge
(backends/torch_to_jax): what XLA jits and what IREE compiles from StableHLO.

The weights are an argument of the step, not constants baked into the program, as JAX LLM code passes them
(a params pytree beside the cache): compiling 500 MB of constants into the program would only slow the compiler.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from backends.base import Task, Unsupported
from backends.llm.step_export import PHASES, phase_length


@dataclass(frozen=True)
class JaxStep:
    functions: dict[str, Callable[..., Any]]  # phase -> fn(params, ids, position, k_cache, v_cache)
    params: dict[str, np.ndarray]  # weights by state-dict name (and lifted constants), both phases'
    names: dict[str, tuple[str, ...]]  # phase -> the params its function reads, sorted
    details: dict[str, Any]


def jax_step(task: Task) -> JaxStep:
    from backends.torch_to_jax import BridgeError, bridge
    from models.llm import llama_model
    from models.llm_step import fixed_cache_step, step_example

    start = time.perf_counter()
    module = fixed_cache_step(llama_model(task.case))
    functions, params, names, ops = {}, {}, {}, set()
    for phase in PHASES:
        try:
            bridged = bridge(module, step_example(task.case, phase_length(task, phase)))
        except BridgeError as exc:
            raise Unsupported(f"torch->JAX bridge: {exc}") from exc
        functions[phase] = bridged.fn
        params.update(bridged.params)
        names[phase] = tuple(sorted(bridged.params))
        ops.update(bridged.ops)
    details = {"jax_definition": "torch.export bridge of the fixed-cache step", "bridge_s": time.perf_counter() - start,
               "bridge_aten_ops": sorted(ops)}
    return JaxStep(functions, params, names, details)


def host_ids(ids: np.ndarray) -> np.ndarray:
    """Token ids and positions as JAX holds them without x64: int32."""
    return np.asarray(ids, dtype=np.int32)
