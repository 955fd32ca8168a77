"""Backend registry: adding a backend is one module plus one line in BACKEND_MODULES (tests/example_backend.py is a
complete adapter in one file; backends/base.py documents the interface)."""

from __future__ import annotations

import os

from backends.base import (
    EXPERT,
    STOCK,
    STUDY,
    Backend,
    Capabilities,
    CellRequest,
    Prepared,
    Setting,
    Skip,
    Task,
    Unsupported,
)
from models.registry import load_registered

# name -> "module:Class"; modules are imported on first use, and import no heavy library at top level.
BACKEND_MODULES: dict[str, str] = {
    "numpy": "backends.numpy_blas:NumpyBackend",
    "torch-eager": "backends.torch_eager:TorchEagerBackend",
    "inductor": "backends.inductor:InductorBackend",
    "xla": "backends.jax_xla:XlaBackend",
    "onnxruntime": "backends.onnx_runtime:OnnxRuntimeBackend",
    "iree": "backends.iree_llvmcpu:IreeBackend",
    "tvm": "backends.tvm.relax:TvmBackend",
    "triton": "backends.triton_kernels:TritonBackend",
    # The vendor-library baseline on CUDA (cuBLAS/cuDNN through torch).
    "cublas": "backends.cuda_libs:CublasBackend",
    # The schedule study (suite "schedules"): hand schedules, autoschedulers, a C baseline.
    "tvm-te": "backends.tvm.te:TvmTeBackend",
    "halide": "backends.halide_kernels:HalideBackend",
    "c-openmp": "backends.c_openmp:COpenMPBackend",
    # MetaSchedule tuning-curve points (driven by the study `python -m suites tune`; in no matrix suite).
    "tvm-ms": "backends.tvm.metaschedule:TvmMsBackend",
    # LLM inference (suite "llm"): each backend's own decode path with a KV cache (backends/llm/, docs/llm.md).
    "llm-torch-eager": "backends.llm.torch_eager:LlmTorchEagerBackend",
    "llm-onnxruntime": "backends.llm.onnx_runtime:LlmOnnxRuntimeBackend",
    "llm-inductor": "backends.llm.inductor:LlmInductorBackend",
    "llm-xla": "backends.llm.jax_xla:LlmXlaBackend",
    "llm-iree": "backends.llm.iree:LlmIreeBackend",
    "llm-tvm": "backends.llm.tvm_relax:LlmTvmBackend",
}


def _registry() -> dict[str, str]:
    """The built-in backends plus extra ones, e.g. the tests' misbehaving backends or a user's own adapter,
    named in MLCOMPARE_EXTRA_BACKENDS="name=package.module:Class,...". Cell subprocesses inherit the variable."""
    extra = {}
    for entry in filter(None, os.environ.get("MLCOMPARE_EXTRA_BACKENDS", "").split(",")):
        name, _, target = entry.partition("=")
        extra[name.strip()] = target.strip()
    return {**BACKEND_MODULES, **extra}


def backend_names() -> list[str]:
    return list(_registry())


def get_backend(name: str) -> Backend:
    backend: Backend = load_registered(_registry(), "backend", name)
    return backend


__all__ = ["EXPERT", "STOCK", "STUDY", "Backend", "Capabilities", "CellRequest", "Prepared", "Setting", "Skip", "Task",
           "Unsupported", "backend_names",
           "get_backend"]
