"""JAX `jax.jit` on XLA, running the workload's own JAX definition, or its torch definition through the
torch.export bridge where it has no JAX one (backends/jax_definition.py; details["jax_definition"] says which)."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import numpy as np

from backends.base import Backend, Capabilities, Prepared, Task
from backends.jax_definition import jax_function, jax_inputs
from backends.outputs import each_output
from backends.precision import get_precision

NO_TF32_REASON = ("the JAX definitions pin lax.Precision.HIGHEST on their matmuls and convolutions (full float32), "
                  "so XLA has no TF32 variant here; TF32 is measured on the torch-based backends and Triton")


class XlaBackend(Backend):
    name = "xla"
    description = "JAX jax.jit (XLA:CPU, or XLA:GPU on CUDA)"
    modules = ("jax", "jaxlib")
    packages = ("jax", "jaxlib")
    # XLA_FLAGS has no thread-count flag (`intra_op_parallelism_threads` is not one, and
    # --xla_cpu_multi_thread_eigen changed no thread's load when measured): XLA:CPU sizes its pools in
    # DefaultThreadPoolSize() (xla/pjrt/utils.cc) from PJRT_NPROC, else from the CPU affinity mask.
    thread_knob = ("PJRT_NPROC=n, plus the cell's CPU affinity: XLA:CPU's intra-op (Eigen) pool and its PjRt client "
                   "pool get n threads each; a call runs on one client thread that hands parallel loops to the "
                   "intra-op pool, so up to 2n threads take turns on n cores (n=1: one busy thread, plus the Python "
                   "caller's dispatch when calls are microseconds)")
    capabilities = Capabilities(devices=("cpu", "cuda"), precisions=("float32", "float16", "bfloat16"),
                                definition="jax", notes={"tf32": NO_TF32_REASON})

    def thread_env(self, threads: int) -> dict[str, str]:
        return {
            "PJRT_NPROC": str(threads),
            # No XLA flag sets threads; an inherited XLA_FLAGS would change the compiled code unrecorded.
            "XLA_FLAGS": "",
            "JAX_PLATFORMS": "cpu",
            "JAX_ENABLE_X64": "0",
        }

    def device_env(self, device: str) -> dict[str, str]:
        if device != "cuda":
            return {}
        # "cuda", not "cpu,cuda": a broken CUDA plugin must fail the cell, not fall back to the CPU silently.
        return {"JAX_PLATFORMS": "cuda", "XLA_FLAGS": ""}

    def prepare(self, task: Task) -> Prepared:
        import jax

        device = jax.devices()[0]
        storage = get_precision(task.dtype).storage
        arrays = tuple(jax.device_put(a, device) for a in jax_inputs(task.inputs, storage))
        forward, definition = jax_function(task.workload, task.case, task.inputs, storage)
        # XLA:GPU would run float32 dots without a precision of their own in TF32: pin full precision on CUDA.
        full_fp32 = task.device == "cuda" and storage == "float32"
        context = jax.default_matmul_precision("highest") if full_fp32 else contextlib.nullcontext()
        # Ahead-of-time lower + compile so that compile time is measured here, not in the first run.
        with context:
            compiled = jax.jit(forward).lower(*arrays).compile()

        def run() -> Any:
            return jax.block_until_ready(compiled(*arrays))

        details: dict[str, Any] = {**definition, "jit": "lower().compile()", "device": str(device),
                                   "pjrt_nproc": os.environ.get("PJRT_NPROC", "unset: the CPU affinity mask")}
        if full_fp32:
            details["default_matmul_precision"] = "highest"
        if storage == "float32":
            return Prepared(run=run, fetch=each_output(np.asarray), details=details)
        # NumPy has no bfloat16 of its own (JAX's is ml_dtypes'): hand float32 back.
        return Prepared(run=run, fetch=each_output(lambda out: np.asarray(out).astype(np.float32)), details=details)

