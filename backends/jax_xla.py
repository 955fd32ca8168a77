"""JAX `jax.jit` on XLA, running the workload's JAX definition (not a wrapper around torch)."""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.base import Backend, Prepared, Task


class XlaBackend(Backend):
    name = "xla"
    description = "JAX jax.jit (XLA:CPU)"
    modules = ("jax", "jaxlib")
    packages = ("jax", "jaxlib")
    definition = "jax"
    thread_knob = "XLA_FLAGS intra_op_parallelism_threads=n, plus the cell's CPU affinity"

    def thread_env(self, threads: int) -> dict[str, str]:
        return {
            "XLA_FLAGS": f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
            f"intra_op_parallelism_threads={threads}",
            "JAX_PLATFORMS": "cpu",
            "JAX_ENABLE_X64": "0",
        }

    def prepare(self, task: Task) -> Prepared:
        import jax

        workload, case = task.workload, task.case
        device = jax.devices()[0]
        arrays = tuple(jax.device_put(a, device) for a in task.inputs)
        # Ahead-of-time lower + compile so that compile time is measured here, not in the first run.
        compiled = jax.jit(lambda *xs: workload.jax_forward(case, *xs)).lower(*arrays).compile()

        def run() -> Any:
            return jax.block_until_ready(compiled(*arrays))

        return Prepared(run=run, fetch=np.asarray, details={"jit": "lower().compile()", "device": str(device)})
