"""IREE: MLIR compiler to a .vmfb for llvm-cpu, run on the local-task driver; two frontends as variants.

- "onnx":      torch module -> ONNX (backends.onnx_export) -> iree-import-onnx -> iree-compile
- "stablehlo": jax.export(jax.jit(the workload's JAX definition)) -> StableHLO text -> iree-compile; a workload
               without one goes through the torch.export bridge (backends/jax_definition.py)
Both compile with iree-compile's defaults but the target CPU (stock: --iree-opt-level defaults to O0).
"onnx-O2" and "stablehlo-O2" (expert) add what IREE documents for performance: --iree-opt-level=O2 and data
tiling (not implied by O2 in iree-base-compiler 3.13: only the flag turns matmuls into mmt4d).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from backends.artifacts import reusable, writing
from backends.base import Backend, Capabilities, CellRequest, Prepared, Setting, Skip, Task, unsupported
from backends.jax_definition import jax_function, jax_inputs
from backends.onnx_export import export_onnx
from backends.outputs import each_output
from models.workload import Case, Workload

COMPILE_FLAGS = ("--iree-llvmcpu-target-cpu=host",)
# The expert variants' flags on top of COMPILE_FLAGS.
O2_FLAGS = ("--iree-opt-level=O2", "--iree-opt-data-tiling")
VMFB = "module.vmfb"  # the compiled module a cell's later processes load
# Worker count of the local-task driver. In the default topology mode ("physical_cores") this creates one
# worker per physical core, at most n, each pinned to a core of the process's CPU affinity mask (so it
# honours the runner's per-cell affinity). --task_topology_group_count=n would instead unpin the workers
# onto every CPU, escaping that mask.
WORKERS_FLAG = "--task_topology_max_group_count"
# Python modules each frontend needs on top of IREE itself.
FRONTEND_MODULES = {"onnx": ("torch", "onnx", "onnxscript"), "stablehlo": ("jax",)}

# The driver reads the flag once, when the process first creates it, and caches it with its workers.
_driver_workers: int | None = None


def local_task_config(threads: int) -> Any:
    global _driver_workers
    import iree.runtime as rt

    if _driver_workers is None:
        rt.flags.parse_flags(f"{WORKERS_FLAG}={threads}")
        _driver_workers = threads
    elif _driver_workers != threads:
        raise RuntimeError(f"IREE's local-task driver already exists in this process with {_driver_workers} "
                           f"workers; {threads} needs a fresh process")
    return rt.Config("local-task")


def _worker_threads(expected: int, wait_s: float = 0.5) -> int | None:
    """How many IREE worker threads this process has: evidence that the worker flag took effect.

    Workers name themselves once started, so a just-created driver may briefly show fewer: poll a little.
    """
    deadline = time.perf_counter() + wait_s
    while True:
        try:
            names = [Path(f"/proc/self/task/{t}/comm").read_text() for t in os.listdir("/proc/self/task")]
        except OSError:
            return None
        count = sum(name.startswith("iree-worker") for name in names)
        if count >= expected or time.perf_counter() > deadline:
            return count
        time.sleep(0.005)


def _onnx_to_mlir(task: Task) -> tuple[Path, dict[str, Any]]:
    exported = export_onnx(task)
    mlir = task.workdir / f"{exported.path.stem}.mlir"  # never next to a user's own model file
    # The console script's own module run by this interpreter: no dependence on PATH or on the venv's bin/.
    command = [sys.executable, "-m", "iree.compiler.tools.import_onnx", str(exported.path), "-o", str(mlir)]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    import_s = time.perf_counter() - start
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"iree-import-onnx failed (exit {proc.returncode}): {last}\n{proc.stderr[-3000:]}")
    return mlir, {"export_s": exported.export_s + import_s, "onnx_export_s": exported.export_s,
                  "onnx_import_s": import_s, "opset": exported.opset}


def _stablehlo_text(workload: Workload, case: Case, inputs: tuple[np.ndarray, ...]) -> tuple[str, dict[str, Any]]:
    import jax

    forward, details = jax_function(workload, case, inputs)
    specs = tuple(jax.ShapeDtypeStruct(a.shape, a.dtype) for a in jax_inputs(inputs))
    return jax.export.export(jax.jit(forward))(*specs).mlir_module(), details


def _stablehlo_to_mlir(task: Task) -> tuple[Path, dict[str, Any]]:
    start = time.perf_counter()
    text, details = _stablehlo_text(task.workload, task.case, task.inputs)
    mlir = task.workdir / f"{task.workload.name}.stablehlo.mlir"
    mlir.write_text(text)
    return mlir, {**details, "export_s": time.perf_counter() - start}


def compile_vmfb(mlir: Path, vmfb: Path, input_type: str, flags: tuple[str, ...]) -> None:
    import iree.compiler as ireec

    try:
        ireec.compile_file(str(mlir), target_backends=["llvm-cpu"], input_type=input_type,
                           extra_args=list(flags), output_file=str(vmfb))
    except ireec.CompilerToolError as exc:
        # Its message starts with a generic line; a failure's recorded reason is its first line.
        text = str(exc)
        lines = [line.strip() for line in text.splitlines()]
        summary = next((x for x in lines if "error:" in x), next((x for x in lines if x.startswith("Error code")), ""))
        raise RuntimeError(f"iree-compile failed: {summary}\n{text[-3000:]}") from exc


# frontend -> (exporter, iree-compile --iree-input-type, exported function name)
FRONTENDS = {
    "onnx": (_onnx_to_mlir, "onnx", "main_graph"),
    "stablehlo": (_stablehlo_to_mlir, "stablehlo", "main"),
}
# variant -> (frontend, iree-compile flags)
VARIANTS = {
    "onnx": ("onnx", COMPILE_FLAGS),
    "stablehlo": ("stablehlo", COMPILE_FLAGS),
    "onnx-O2": ("onnx", COMPILE_FLAGS + O2_FLAGS),
    "stablehlo-O2": ("stablehlo", COMPILE_FLAGS + O2_FLAGS),
}
_OPTIMIZATION_OPTIONS = "https://iree.dev/reference/optimization-options/"
_HOST_CPU = Setting(
    "--iree-llvmcpu-target-cpu", "host",
    "https://iree.dev/guides/deployment-configurations/cpu/ (without it: a generic CPU target, 'poor performance')",
    "generates code for this machine's CPU and its vector extensions")
_O2_SETTINGS = (
    Setting("--iree-opt-level", "O2",
            f"{_OPTIMIZATION_OPTIONS} (iree-opt-level defaults to O0, 'poor runtime performance'); "
            "https://iree.dev/guides/deployment-configurations/cpu/ (tip: use --iree-opt-level)",
            "turns on the optimisations of O1 and O2, e.g. aggressive dispatch fusion and stripped assertions"),
    Setting("--iree-opt-data-tiling", "true",
            f"{_OPTIMIZATION_OPTIONS}; https://iree.dev/community/blog/2025-08-25-data-tiling-walkthrough/; "
            "iree-compile --help (3.13: 'enables data tiling optimization')",
            "packs matmul operands into the target's preferred tiled layout (linalg.mmt4d), "
            "with the layout changes propagated and constant-folded for weights"),
)


class IreeBackend(Backend):
    name = "iree"
    description = "IREE llvm-cpu (target-cpu=host) on the local-task driver; ONNX or StableHLO (JAX) frontend"
    variants = tuple(VARIANTS)
    variant_settings: ClassVar[Mapping[str, tuple[Setting, ...]]] = {
        "onnx": (_HOST_CPU,), "stablehlo": (_HOST_CPU,),
        "onnx-O2": (_HOST_CPU, *_O2_SETTINGS), "stablehlo-O2": (_HOST_CPU, *_O2_SETTINGS)}
    expert_variants = ("onnx-O2", "stablehlo-O2")
    modules = ("iree.compiler", "iree.runtime")
    packages = ("iree-base-compiler", "iree-base-runtime", "torch", "onnx", "jax")
    thread_knob = (f"runtime flag {WORKERS_FLAG}=n (parse_flags before the local-task driver exists; "
                   "n workers pinned to physical cores within the CPU affinity mask)")

    def thread_env(self, threads: int) -> dict[str, str]:
        # Read by iree.runtime at import; prepare() parses the same flag for in-process use.
        return {"IREE_PY_RUNTIME_FLAGS": f"{WORKERS_FLAG}={threads}"}

    capabilities = Capabilities(definition="onnx", variant_definitions={"stablehlo": "jax", "stablehlo-O2": "jax"})

    def skip(self, request: CellRequest) -> Skip | None:
        frontend = VARIANTS[request.variant][0] if request.variant in VARIANTS else ""
        missing = [m for m in FRONTEND_MODULES.get(frontend, ()) if importlib.util.find_spec(m) is None]
        return super().skip(request) or unsupported(
            f"the {frontend} frontend needs python module {missing[0]!r}" if missing else None)

    def prepare(self, task: Task) -> Prepared:
        import iree.runtime as rt

        frontend_name, flags = VARIANTS[task.variant]
        frontend, input_type, entry = FRONTENDS[frontend_name]
        task.workdir.mkdir(parents=True, exist_ok=True)
        vmfb = reusable(task.artifact_dir, VMFB)
        details: dict[str, Any] = {"vmfb_reused": vmfb is not None}
        if vmfb is None:  # the cell's first process imports and compiles; its later ones load the module
            mlir, imported = frontend(task)
            details.update(imported)
            with writing(task.artifact_dir, VMFB, task.workdir) as partial:
                start = time.perf_counter()
                compile_vmfb(mlir, partial, input_type, flags)
                details["iree_compile_s"] = time.perf_counter() - start
            vmfb = partial.parent / VMFB

        config = local_task_config(task.threads)
        context = rt.SystemContext(config=config)
        vm_module = rt.VmModule.copy_buffer(context.instance, vmfb.read_bytes())
        context.add_vm_module(vm_module)
        function = context.modules[vm_module.name][entry]
        # Copied to device buffers once, so run() times the invocation and not host -> device copies. The StableHLO
        # module takes what JAX traced (int64 ids as int32); the ONNX one takes the inputs as they are.
        host = jax_inputs(task.inputs) if frontend_name == "stablehlo" else task.inputs
        args = tuple(rt.asdevicearray(config.device, np.ascontiguousarray(a)) for a in host)

        def run() -> Any:
            # Compiled with IREE's default sync ABI ("sync func @main..."): the call awaits its fence,
            # so the result is complete when it returns.
            return function(*args)

        details.update({
            "artifact_bytes": vmfb.stat().st_size,
            "input_type": input_type,
            "target_backends": ["llvm-cpu"],
            "frontend": frontend_name,
            "compile_flags": list(flags),
            "driver": "local-task",
            "workers_flag": f"{WORKERS_FLAG}={_driver_workers}",
            "worker_threads": _worker_threads(min(task.threads, len(os.sched_getaffinity(0)))),
        })
        # A function with several results returns a tuple of device arrays.
        return Prepared(run=run, fetch=each_output(lambda out: np.asarray(out.to_host())), details=details)
