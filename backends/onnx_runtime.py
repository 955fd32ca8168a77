"""ONNX Runtime on its CPU execution provider, running the workload's torch module exported to ONNX."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from backends import ort_fusion
from backends.artifacts import bookkeeping
from backends.base import Backend, Capabilities, CellRequest, Prepared, Setting, Skip, Task, unsupported
from backends.graph_study import GRAPH_STUDY_MODELS
from backends.onnx_export import export_onnx
from backends.outputs import each_output
from models.workload import Case, Workload

# variant -> GraphOptimizationLevel name. "default" is what ORT does unless told otherwise (all levels);
# "transformer-fusion" runs all levels on the offline-fused model (backends/ort_fusion.py); the others are the
# graph-level study (backends/graph_study.py).
OPT_LEVELS = {
    "default": "ORT_ENABLE_ALL",
    ort_fusion.VARIANT: "ORT_ENABLE_ALL",
    "opt-disable": "ORT_DISABLE_ALL",
    "opt-basic": "ORT_ENABLE_BASIC",
    "opt-extended": "ORT_ENABLE_EXTENDED",
}
GRAPH_OPTIMIZATIONS_DOC = "https://onnxruntime.ai/docs/performance/model-optimizations/graph-optimizations.html"
NO_CUDA_REASON = ("mlcompare's ONNX Runtime adapter runs the CPUExecutionProvider only: no CUDA provider is wired in "
                  "(that would need the onnxruntime-gpu build; onnxruntime is CPU-only)")


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"
    description = "ONNX Runtime, CPUExecutionProvider, graph optimisations ORT_ENABLE_ALL (torch -> ONNX export)"
    variants = tuple(OPT_LEVELS)
    modules = ("onnxruntime", "onnx", "onnxscript", "torch")
    packages = ("onnxruntime", "onnx", "torch")
    thread_knob = "SessionOptions.intra_op_num_threads=n, inter_op_num_threads=1, ORT_SEQUENTIAL"
    capabilities = Capabilities(definition="onnx", notes={"cuda": NO_CUDA_REASON})
    graph_study = GRAPH_STUDY_MODELS
    study_variants = ("opt-disable", "opt-basic", "opt-extended")
    expert_variants = (ort_fusion.VARIANT,)
    # "default" changes nothing: ORT_ENABLE_ALL is ORT's own default level.
    variant_settings: ClassVar[Mapping[str, tuple[Setting, ...]]] = {
        "default": (),
        ort_fusion.VARIANT: ort_fusion.SETTINGS,
        **{variant: (Setting("SessionOptions.graph_optimization_level", level, GRAPH_OPTIMIZATIONS_DOC,
                             "a lower graph-optimisation level than ORT's default: a step of the graph-level study"),)
           for variant, level in OPT_LEVELS.items() if variant.startswith("opt-")},
    }

    def variants_for(self, workload: Workload, case: Case) -> tuple[str, ...]:
        fusion = (ort_fusion.VARIANT,) if workload.name in ort_fusion.TRANSFORMER_MODELS else ()
        study = self.study_variants if workload.name in self.graph_study else ()
        return ("default", *fusion, *study)

    def skip(self, request: CellRequest) -> Skip | None:
        return super().skip(request) or unsupported(ort_fusion.refusal(request))

    def prepare(self, task: Task) -> Prepared:
        import onnxruntime as ort

        exported = export_onnx(task)
        fused = ort_fusion.fuse(task, exported) if task.variant == ort_fusion.VARIANT else None
        model_path = fused.path if fused else exported.path
        options = ort.SessionOptions()
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPT_LEVELS[task.variant])
        options.intra_op_num_threads = task.threads
        # One operator at a time: the intra-op pool is the only parallelism, as in the other backends.
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
        feeds = {name: np.ascontiguousarray(a) for name, a in zip(exported.input_names, task.inputs, strict=True)}
        output_names = [o.name for o in session.get_outputs()]  # every output (a user's model may have several)

        def run() -> Any:
            outs = session.run(output_names, feeds)  # synchronous on CPU, returns NumPy arrays
            return outs[0] if len(outs) == 1 else outs

        details: dict[str, Any] = {
            "export_s": exported.export_s,
            "export_reused": exported.reused,
            "opset": exported.opset,
            "artifact_bytes": exported.bytes,
            "graph_optimization_level": str(options.graph_optimization_level),
            "providers": session.get_providers(),
            "intra_op_num_threads": options.intra_op_num_threads,
            "inter_op_num_threads": options.inter_op_num_threads,
            "execution_mode": str(options.execution_mode),
        }
        if fused:
            details.update(fusion_route=ort_fusion.ROUTE, fusion_s=fused.fusion_s, fusion_reused=fused.reused)
        with bookkeeping(details):
            # What fusion left of the exported operators: a second session writes the rewritten graph, outside
            # compile_s (serialising it is no part of a user's session start).
            task.workdir.mkdir(parents=True, exist_ok=True)
            optimized = task.workdir / "ort_optimized.onnx"
            options.optimized_model_filepath = str(optimized)
            ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
            details.update(ops_before=node_count(exported.path), ops_after=node_count(optimized))
            if fused:
                details.update(ops_fused=node_count(fused.path), fused_ops=ort_fusion.fused_ops(fused.path))
        return Prepared(run=run, fetch=each_output(np.asarray), details=details)


def node_count(path: Any) -> int | None:
    """Nodes of an ONNX graph's top level (None when ORT did not write the file)."""
    import onnx

    try:
        return len(onnx.load(str(path), load_external_data=False).graph.node)
    except Exception:  # a side metric must not fail the cell
        return None
