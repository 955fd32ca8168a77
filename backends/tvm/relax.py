"""Apache TVM Relax: a Relax import (torch.export or ONNX), built with a chosen pipeline or tuned with MetaSchedule.

Variants (the import path comes first when it is not torch.export):
- "untuned": `tvm.compile(mod, target)`'s default CPU pipeline: legalize and lower, no constant folding, no
  fusion, naive loops (the graph-level study's O0).
- "tuned": the passes of TVM's "static_shape_tuning" pipeline, MetaSchedule tuning (backends/tvm/tuning.py), then
  the same build.
- models also run "onnx-untuned" / "onnx-tuned" (Relax's ONNX frontend on the shared torch.onnx export), and
  the models of the graph-level study (backends/graph_study.py) add "untuned-O1" (BatchNorm decomposed +
  constant folding) and "untuned-O2" (+ operator fusion, FuseOps/FuseTIR): the ladder from the default pipeline (O0)
  to tuning (which includes O2).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from backends.artifacts import bookkeeping, reusable, writing
from backends.base import Backend, Capabilities, Prepared, Setting, Task, Unsupported
from backends.graph_study import GRAPH_STUDY_MODELS
from backends.onnx_export import export_onnx
from backends.outputs import Outputs
from backends.tvm.common import host_target
from backends.tvm.torch_converters import CONVERTERS
from backends.tvm.tuning import tune
from backends.tvm.workload_settings import ZOO_PREFIX
from models.workload import Case, Workload

# Graph-level optimisation levels above the default pipeline ("untuned" is O0), below tuning.
LIBRARY = "tvm_module.so"  # the built module, exported for the cell's later processes (and the deploy study)
GRAPH_LEVELS = {
    "untuned-O1": "BatchNorm decomposed for inference + constant folding, no fusion",
    "untuned-O2": "BatchNorm decomposed + constant folding + FuseOps/FuseTIR",
}

__all__ = ["TvmBackend", "import_torch"]


# The experts' path on CPU: tuning with weight prepacking (relax.pipeline.static_shape_tuning_pipeline).
PREPACK = "tuned-prepack"
_PREPACK_SETTING = Setting(
    "relax.pipeline.static_shape_tuning_pipeline(cpu_weight_prepack=...)", "True",
    "apache/tvm python/tvm/relax/pipeline.py, static_shape_tuning_pipeline: \"cpu_weight_prepack is expected to be "
    "True when running on CPU for better performance\"",
    "weights become layout-free buffers during tuning (AttachAttrLayoutFreeBuffers), so MetaSchedule's RewriteLayout "
    "stores each in the layout its tuned kernel reads; the re-layout is split out and folded into the constants at "
    "compile time (SplitLayoutRewritePreproc, LiftTransformParams, FoldConstant)")


class TvmBackend(Backend):
    name = "tvm"
    description = "Apache TVM Relax (torch.export or ONNX frontend, LLVM CPU codegen, MetaSchedule tuning)"
    variants = ("untuned", "tuned", PREPACK, "onnx-untuned", "onnx-tuned", *GRAPH_LEVELS)
    variant_settings: ClassVar[Mapping[str, tuple[Setting, ...]]] = {PREPACK: (_PREPACK_SETTING,)}
    expert_variants = (PREPACK,)
    capabilities = Capabilities(variant_definitions={"onnx-untuned": "onnx", "onnx-tuned": "onnx"})
    graph_study = GRAPH_STUDY_MODELS
    modules = ("tvm",)
    packages = ("apache-tvm", "apache-tvm-ffi")
    thread_knob = "TVM_NUM_THREADS=n (runtime thread pool, also used by tuning measurements) + target num-cores=n"

    def thread_env(self, threads: int) -> dict[str, str]:
        return {"TVM_NUM_THREADS": str(threads)}

    def variants_for(self, workload: Workload, case: Case) -> tuple[str, ...]:
        if workload.kind != "model":
            return ("untuned", "tuned")
        levels = tuple(GRAPH_LEVELS) if workload.name in self.graph_study else ()
        # The zoo's seventeen networks keep one tuned variant: a second tuning of each would take most of a day.
        prepack = () if workload.name.startswith(ZOO_PREFIX) else (PREPACK,)
        return ("untuned", "tuned", *prepack, "onnx-untuned", "onnx-tuned", *levels)

    def prepare(self, task: Task) -> Prepared:
        import tvm
        from tvm import relax

        library = reusable(task.artifact_dir, LIBRARY)
        if library is not None:  # a later process of the cell: load the first one's build, compile nothing
            details: dict[str, Any] = {"library_reused": True, "tvm": tvm.__version__}
            ex = tvm.runtime.load_module(str(library))
        else:
            ex, details = self._build(task)
        device = tvm.cpu()
        vm = relax.VirtualMachine(ex, device)
        main = vm["main"]
        args = [tvm.runtime.tensor(np.ascontiguousarray(a), device) for a in task.inputs]

        def run() -> Any:
            out = main(*args)
            device.sync()  # CPU kernels return when done; sync keeps run() honest for async devices too
            return out

        return Prepared(run=run, fetch=to_numpy, details=details)

    def _build(self, task: Task) -> tuple[Any, dict[str, Any]]:
        import tvm
        from tvm import relax

        frontend = "onnx" if task.variant.startswith("onnx-") else "torch.export"
        level = task.variant.removeprefix("onnx-")
        t0 = time.perf_counter()
        mod = import_onnx(task) if frontend == "onnx" else import_torch(task)
        details: dict[str, Any] = {"export_s": time.perf_counter() - t0, "frontend": frontend, "tvm": tvm.__version__,
                                   "ops_before": relax_op_count(mod), "library_reused": False}

        target, details["target"] = host_target(task.threads)
        # The default pipeline: legalize and lower (tuned modules arrive legalized and fused already).
        pipeline = relax.get_pipeline("default")
        if level in ("tuned", PREPACK):
            mod = tune(task, mod, target, details)
        elif level in GRAPH_LEVELS:
            details["pipeline"] = f"{level}: {GRAPH_LEVELS[level]}"
            pipeline = graph_level_pipeline(level, target)
        else:  # "untuned" (skip refuses any other variant)
            details["pipeline"] = "default"

        with target:
            lowered = pipeline(mod)
        # What fusion left of the imported operators: compiled kernels (TIR functions) the module launches.
        details["ops_after"] = sum(1 for _, f in lowered.functions_items() if isinstance(f, tvm.tirx.PrimFunc))
        ex = tvm.compile(lowered, target, relax_pipeline=None)
        with bookkeeping(details):  # the shared library the cell's later processes load, and its size
            details["artifact_bytes"] = export_library(ex, task)
        return ex, details


def import_torch(task: Task) -> Any:
    """torch.export the workload's module and translate it to a Relax IRModule (weights become constants)."""
    import torch
    from tvm.relax.frontend.torch import from_exported_program

    tensors = tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in task.inputs)
    exported = torch.export.export(task.workload.torch_module(task.case), tensors)
    try:
        # Converters where TVM's frontend departs from torch's semantics (a bool cumsum: GPT-2's, SmolLM's masks).
        return from_exported_program(exported, custom_convert_map=dict(CONVERTERS))
    except NotImplementedError as exc:
        raise Unsupported(f"TVM torch frontend: {exc}") from exc
    except AssertionError as exc:
        # The frontend asserts when an aten op has no converter.
        if "Unsupported function types" in str(exc):
            raise Unsupported(f"TVM torch frontend: {exc}") from exc
        raise


def import_onnx(task: Task) -> Any:
    """The shared torch -> ONNX export, through Relax's ONNX frontend at the case's static shapes."""
    import onnx
    from tvm.relax.frontend.onnx import from_onnx

    exported = export_onnx(task)
    shapes = {name: a.shape for name, a in zip(exported.input_names, task.inputs, strict=True)}
    try:
        return from_onnx(onnx.load(str(exported.path)), shape_dict=shapes, keep_params_in_input=False)
    except NotImplementedError as exc:
        raise Unsupported(f"TVM ONNX frontend: {exc}") from exc


def graph_level_pipeline(level: str, target: Any) -> Any:
    """The CPU pipeline with graph-level passes up to `level` (O1: folding, O2: folding and fusion)."""
    import tvm
    from tvm import relax
    from tvm.relax.backend.cpu_generic import pipeline as cpu_generic

    graph = [relax.transform.DecomposeOpsForInference(), relax.transform.FoldConstant(),
             relax.transform.LegalizeOps(), relax.transform.AnnotateTIROpPattern(), relax.transform.FoldConstant()]
    if level == "untuned-O2":
        graph += [relax.transform.FuseOps(), relax.transform.FuseTIR()]

    @tvm.transform.module_pass(opt_level=0)
    def pipeline(mod: Any, _ctx: Any) -> Any:
        with target:
            return tvm.transform.Sequential(
                cpu_generic.library_dispatch_passes(target) + graph
                + cpu_generic.dataflow_lower_passes(target) + cpu_generic.finalize_passes(target)
            )(mod)

    return pipeline


def relax_op_count(mod: Any) -> int:
    """Relax operator calls in `main` (before lowering: the graph as imported)."""
    return sum(_calls(mod).values())


def _calls(mod: Any) -> Counter[str]:
    import tvm
    from tvm import relax

    counts: Counter[str] = Counter()

    def visit(expr: Any) -> None:
        if isinstance(expr, relax.Call) and isinstance(expr.op, tvm.ir.Op):
            counts[expr.op.name] += 1

    relax.analysis.post_order_visit(mod["main"], visit)
    return counts


def export_library(ex: Any, task: Task) -> int | None:
    """Link the compiled module into the cell's shared library (about 50 ms: the object code exists) and return
    its size; None when linking fails (it needs a C compiler): later processes then build again."""
    try:
        with writing(task.artifact_dir, LIBRARY, task.workdir) as partial:
            ex.export_library(str(partial))
        return (partial.parent / LIBRARY).stat().st_size
    except Exception:  # a side metric and an optimisation: never a reason to fail the cell
        return None


def to_numpy(out: Any) -> Outputs:
    # The torch frontend returns a tuple even of one output; a model with several gets a tuple of arrays back.
    if hasattr(out, "numpy"):
        return out.numpy()
    outputs = tuple(o.numpy() for o in out)
    return outputs[0] if len(outputs) == 1 else outputs
