"""JAX/XLA: the fixed-cache step jitted twice (prefill and decode shapes), the decode step donating its cache
buffers so XLA updates them in place (the fixed-size-cache decode loop of JAX LLM code, e.g. gemma's sampler)."""

from __future__ import annotations

from typing import Any

from backends.base import Task
from backends.llm.fixed_cache import FixedCacheDecoder
from backends.llm.generation import Decoder, LlmBackend
from backends.llm.jax_step import host_ids, jax_step
from backends.llm.step_export import PHASES, phase_length


class LlmXlaBackend(LlmBackend):
    name = "llm-xla"
    description = "JAX jax.jit on XLA:CPU, fixed-size KV cache donated to the decode step"
    modules = ("jax", "jaxlib", "torch", "transformers")
    packages = ("jax", "jaxlib", "torch", "transformers")
    thread_knob = "PJRT_NPROC=n (XLA:CPU sizes its thread pools from it)"

    def thread_env(self, threads: int) -> dict[str, str]:
        return {"PJRT_NPROC": str(threads), "XLA_FLAGS": "", "JAX_PLATFORMS": "cpu", "JAX_ENABLE_X64": "0"}

    def build(self, task: Task) -> tuple[Decoder, dict[str, Any]]:
        import jax
        import numpy as np

        from models.llm_step import empty_cache

        step = jax_step(task)
        on_device = {k: jax.device_put(v) for k, v in step.params.items()}
        params = {phase: {n: on_device[n] for n in step.names[phase]} for phase in PHASES}
        k_cache, v_cache = empty_cache(task.case)
        compiled = {}
        for phase in PHASES:
            ids = np.zeros((1, phase_length(task, phase)), np.int32)
            # Only the decode step donates: the prefill starts from the decoder's kept empty buffers.
            donate = (3, 4) if phase == "decode" else ()
            compiled[phase] = jax.jit(step.functions[phase], donate_argnums=donate).lower(
                params[phase], ids, np.zeros((1,), np.int32), k_cache, v_cache).compile()

        def runner(phase: str) -> Any:
            return lambda ids, position, k, v: compiled[phase](params[phase], host_ids(ids), host_ids(position), k, v)

        decoder = FixedCacheDecoder(task.case, runner("prefill"), runner("decode"), to_device=jax.device_put,
                                    counters=lambda: {"compilations": len(PHASES), "recompilations": 0})
        return decoder, {**step.details, "jit": "lower().compile()", "donate_cache": True}
