"""JAX `jax.jit` on XLA, running the workload's JAX definition (not a wrapper around torch)."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from backends.base import Backend, Capabilities, Prepared, Task
from backends.precision import get_precision

NO_TF32_REASON = ("the JAX definitions pin lax.Precision.HIGHEST on their matmuls and convolutions (full float32), "
                  "so XLA has no TF32 variant here; TF32 is measured on the torch-based backends and Triton")


class XlaBackend(Backend):
    name = "xla"
    description = "JAX jax.jit (XLA:CPU, or XLA:GPU on CUDA)"
    modules = ("jax", "jaxlib")
    packages = ("jax", "jaxlib")
    thread_knob = "XLA_FLAGS intra_op_parallelism_threads=n, plus the cell's CPU affinity"
    capabilities = Capabilities(devices=("cpu", "cuda"), precisions=("float32", "float16", "bfloat16"),
                                definition="jax", notes={"tf32": NO_TF32_REASON})

    def thread_env(self, threads: int) -> dict[str, str]:
        return {
            "XLA_FLAGS": f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
            f"intra_op_parallelism_threads={threads}",
            "JAX_PLATFORMS": "cpu",
            "JAX_ENABLE_X64": "0",
        }

    def device_env(self, device: str) -> dict[str, str]:
        if device != "cuda":
            return {}
        # "cuda", not "cpu,cuda": a broken CUDA plugin must fail the cell, not fall back to the CPU silently.
        # XLA:CPU's thread flags have nothing to act on there.
        return {"JAX_PLATFORMS": "cuda", "XLA_FLAGS": ""}

    def prepare(self, task: Task) -> Prepared:
        import jax

        device = jax.devices()[0]
        storage = get_precision(task.dtype).storage
        host = task.inputs if storage == "float32" else tuple(_as_jax_dtype(a, storage) for a in task.inputs)
        arrays = tuple(jax.device_put(a, device) for a in host)
        forward = _forward(task, storage)
        # XLA:GPU would run float32 dots without a precision of their own in TF32: pin full precision on CUDA.
        full_fp32 = task.device == "cuda" and storage == "float32"
        context = jax.default_matmul_precision("highest") if full_fp32 else contextlib.nullcontext()
        # Ahead-of-time lower + compile so that compile time is measured here, not in the first run.
        with context:
            compiled = jax.jit(forward).lower(*arrays).compile()

        def run() -> Any:
            return jax.block_until_ready(compiled(*arrays))

        details: dict[str, Any] = {"jit": "lower().compile()", "device": str(device)}
        if full_fp32:
            details["default_matmul_precision"] = "highest"
        if storage == "float32":
            return Prepared(run=run, fetch=np.asarray, details=details)
        # NumPy has no bfloat16 of its own (JAX's is ml_dtypes'): hand float32 back.
        return Prepared(run=run, fetch=lambda out: np.asarray(out).astype(np.float32), details=details)


def _as_jax_dtype(a: np.ndarray, storage: str) -> np.ndarray:
    import jax.numpy as jnp

    return np.asarray(a).astype(jnp.dtype(storage))


def _forward(task: Task, storage: str) -> Any:
    workload, case = task.workload, task.case
    if storage == "float32" or workload.kind != "model":
        return lambda *xs: workload.jax_forward(case, *xs)
    import jax.numpy as jnp

    # A model's jax_forward closes over float32 weights, which would promote every layer back to float32:
    # give jax_apply the weights in the cell's precision instead.
    params = {k: jnp.asarray(v, dtype=jnp.dtype(storage)) for k, v in workload.params(case).items()}
    return lambda *xs: workload.jax_apply(params, case, *xs)
