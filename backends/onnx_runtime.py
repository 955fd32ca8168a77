"""ONNX Runtime on its CPU execution provider, running the workload's torch module exported to ONNX."""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.base import Backend, Prepared, Task
from backends.onnx_export import export_onnx


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"
    description = "ONNX Runtime, CPUExecutionProvider, graph optimisations ORT_ENABLE_ALL (torch -> ONNX export)"
    modules = ("onnxruntime", "onnx", "onnxscript", "torch")
    packages = ("onnxruntime", "onnx", "torch")
    thread_knob = "SessionOptions.intra_op_num_threads=n, inter_op_num_threads=1, ORT_SEQUENTIAL"

    def prepare(self, task: Task) -> Prepared:
        import onnxruntime as ort

        exported = export_onnx(task)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = task.threads
        # One operator at a time: the intra-op pool is the only parallelism, as in the other backends.
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(str(exported.path), sess_options=options, providers=["CPUExecutionProvider"])
        feeds = {name: np.ascontiguousarray(a) for name, a in zip(exported.input_names, task.inputs, strict=True)}
        output_names = [session.get_outputs()[0].name]

        def run() -> Any:
            return session.run(output_names, feeds)[0]  # synchronous on CPU, returns a NumPy array

        details = {
            "export_s": exported.export_s,
            "opset": exported.opset,
            "artifact_bytes": exported.bytes,
            "graph_optimization_level": str(options.graph_optimization_level),
            "providers": session.get_providers(),
            "intra_op_num_threads": options.intra_op_num_threads,
            "inter_op_num_threads": options.inter_op_num_threads,
            "execution_mode": str(options.execution_mode),
        }
        return Prepared(run=run, fetch=np.asarray, details=details)
