"""IREE (llvm-cpu, local-task): the fixed-cache step compiled ahead of time, one module per phase (prefill and
decode), from the same StableHLO that XLA compiles (jax.export of the bridged step, weights as arguments) or
from the ONNX export ONNX Runtime runs. The cache stays in IREE device buffers between steps."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from backends.artifacts import reusable, writing
from backends.base import Setting, Task
from backends.iree_llvmcpu import COMPILE_FLAGS, O2_FLAGS, WORKERS_FLAG, compile_vmfb, local_task_config
from backends.llm.fixed_cache import FixedCacheDecoder
from backends.llm.generation import Decoder, LlmBackend
from backends.llm.jax_step import host_ids, jax_step
from backends.llm.step_export import PHASES, export_step_onnx, phase_length

# variant -> (frontend, iree-compile flags)
VARIANTS = {"stablehlo": ("stablehlo", COMPILE_FLAGS), "stablehlo-O2": ("stablehlo", COMPILE_FLAGS + O2_FLAGS),
            "onnx": ("onnx", COMPILE_FLAGS)}
HOST_CPU = Setting("--iree-llvmcpu-target-cpu", "host", "https://iree.dev/guides/deployment-configurations/cpu/",
                   "generates code for this machine's CPU and its vector extensions")
O2 = Setting("--iree-opt-level, --iree-opt-data-tiling", "O2, true",
             "https://iree.dev/reference/optimization-options/", "IREE's documented optimisations for performance")


def _stablehlo(task: Task, workdir: Any) -> tuple[dict[str, Any], dict[str, list[np.ndarray]], dict[str, Any]]:
    """phase -> MLIR path, phase -> the weights its module takes first, details."""
    import jax

    from models.llm_step import empty_cache

    step = jax_step(task)
    weights = {phase: [step.params[n] for n in step.names[phase]] for phase in PHASES}
    k_cache, _ = empty_cache(task.case)
    paths = {}
    for phase in PHASES:
        fn, names = step.functions[phase], step.names[phase]

        def positional(weights: list[Any], ids: Any, position: Any, k: Any, v: Any, fn: Any = fn,
                       names: tuple[str, ...] = names) -> Any:
            return fn(dict(zip(names, weights, strict=True)), ids, position, k, v)

        specs = ([jax.ShapeDtypeStruct(w.shape, w.dtype) for w in weights[phase]],
                 jax.ShapeDtypeStruct((1, phase_length(task, phase)), np.int32),
                 jax.ShapeDtypeStruct((1,), np.int32), *(jax.ShapeDtypeStruct(k_cache.shape, np.float32),) * 2)
        paths[phase] = workdir / f"llama_{phase}.stablehlo.mlir"
        paths[phase].write_text(jax.export.export(jax.jit(positional, keep_unused=True))(*specs).mlir_module())
    return paths, weights, step.details


def _onnx(task: Task, workdir: Any) -> tuple[dict[str, Any], dict[str, list[np.ndarray]], dict[str, Any]]:
    import subprocess
    import sys

    paths, details = {}, {"onnx_export_s": 0.0}
    for phase in PHASES:
        onnx_path, export_s = export_step_onnx(task, phase)
        details["onnx_export_s"] += export_s
        paths[phase] = workdir / f"llama_{phase}.mlir"
        command = [sys.executable, "-m", "iree.compiler.tools.import_onnx", str(onnx_path), "-o", str(paths[phase])]
        subprocess.run(command, capture_output=True, text=True, check=True)
    return paths, {phase: [] for phase in PHASES}, details  # the weights are constants of the imported graphs


FRONTENDS = {"stablehlo": _stablehlo, "onnx": _onnx}


class LlmIreeBackend(LlmBackend):
    name = "llm-iree"
    description = "IREE llvm-cpu, fixed-size KV cache step compiled per phase (StableHLO or ONNX frontend)"
    variants = tuple(VARIANTS)
    variant_settings: ClassVar[Mapping[str, tuple[Setting, ...]]] = {
        "stablehlo": (HOST_CPU,), "stablehlo-O2": (HOST_CPU, O2), "onnx": (HOST_CPU,)}
    expert_variants = ("stablehlo-O2",)
    modules = ("iree.compiler", "iree.runtime", "jax", "torch", "transformers")
    packages = ("iree-base-compiler", "iree-base-runtime", "jax", "torch", "transformers")
    thread_knob = f"runtime flag {WORKERS_FLAG}=n"

    def thread_env(self, threads: int) -> dict[str, str]:
        return {"IREE_PY_RUNTIME_FLAGS": f"{WORKERS_FLAG}={threads}", "JAX_PLATFORMS": "cpu", "JAX_ENABLE_X64": "0"}

    def build(self, task: Task) -> tuple[Decoder, dict[str, Any]]:
        import iree.runtime as rt

        frontend, flags = VARIANTS[task.variant]
        task.workdir.mkdir(parents=True, exist_ok=True)
        vmfbs = {phase: reusable(task.artifact_dir, f"llama_{phase}.vmfb") for phase in PHASES}
        details: dict[str, Any] = {"frontend": frontend, "compile_flags": list(flags),
                                   "vmfb_reused": all(vmfbs.values()), "iree_compile_s": 0.0}
        # The StableHLO modules take the weights as arguments: they are needed even when the modules are reused.
        paths, weights = {}, {phase: [] for phase in PHASES}
        if frontend == "stablehlo" or not all(vmfbs.values()):
            paths, weights, imported = FRONTENDS[frontend](task, task.workdir)
            details.update(imported)
        for phase in PHASES:
            if vmfbs[phase] is None:
                with writing(task.artifact_dir, f"llama_{phase}.vmfb", task.workdir) as partial:
                    start = time.perf_counter()
                    compile_vmfb(paths[phase], partial, frontend, flags)
                    details["iree_compile_s"] += time.perf_counter() - start
                vmfbs[phase] = partial.parent / f"llama_{phase}.vmfb"
        config = local_task_config(task.threads)
        entry = "main" if frontend == "stablehlo" else "main_graph"
        functions = {}
        for phase in PHASES:  # one context each: both modules carry the exported function's name
            context = rt.SystemContext(config=config)
            module = rt.VmModule.copy_buffer(context.instance, vmfbs[phase].read_bytes())
            context.add_vm_module(module)
            functions[phase] = context.modules[module.name][entry]
        # Uploaded once, like the cache stays on the device.
        on_device = {phase: [rt.asdevicearray(config.device, w) for w in weights[phase]] for phase in PHASES}
        as_ids = host_ids if frontend == "stablehlo" else (lambda a: np.asarray(a, np.int64))

        def runner(phase: str) -> Any:
            def run(ids: np.ndarray, position: np.ndarray, k: Any, v: Any) -> Any:
                logits, k_out, v_out = functions[phase](*on_device[phase], as_ids(ids), as_ids(position), k, v)
                # A copy: to_host() maps the result buffer, which IREE reuses for a later call's result.
                return np.array(logits.to_host(), copy=True), k_out, v_out
            return run

        decoder = FixedCacheDecoder(task.case, runner("prefill"), runner("decode"),
                                    to_device=lambda a: rt.asdevicearray(config.device, a),
                                    counters=lambda: {"compilations": len(PHASES), "recompilations": 0})
        return decoder, details
