"""ONNX Runtime with the KV cache as explicit graph inputs and outputs (the past/present key-values export of
optimum and ONNX Runtime GenAI), at a fixed max length with the position as an input: one decode graph serves
every step, a second graph runs the prefill."""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.base import Task
from backends.llm.fixed_cache import FixedCacheDecoder
from backends.llm.generation import Decoder, LlmBackend
from backends.llm.step_export import PHASES, STEP_INPUTS, export_step_onnx


class LlmOnnxRuntimeBackend(LlmBackend):
    name = "llm-onnxruntime"
    description = ("ONNX Runtime CPU (ORT_ENABLE_ALL), fixed-size KV cache as graph inputs/outputs, "
                   "prefill and decode graphs exported from one torch step")
    modules = ("onnxruntime", "onnx", "onnxscript", "torch", "transformers")
    packages = ("onnxruntime", "onnx", "torch", "transformers")
    thread_knob = "SessionOptions.intra_op_num_threads=n, inter_op_num_threads=1, ORT_SEQUENTIAL"

    def build(self, task: Task) -> tuple[Decoder, dict[str, Any]]:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = task.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        details: dict[str, Any] = {"cache": "fixed max length, graph inputs/outputs", "export_s": 0.0}
        runs = {}
        for phase in PHASES:
            path, export_s = export_step_onnx(task, phase)
            details["export_s"] += export_s
            details["export_reused"] = export_s == 0.0
            session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
            runs[phase] = _session_step(session)
        decoder = FixedCacheDecoder(task.case, runs["prefill"], runs["decode"], to_device=np.ascontiguousarray,
                                    counters=lambda: {"compilations": len(PHASES), "recompilations": 0})
        return decoder, details


def _session_step(session: Any) -> Any:
    def run(ids: np.ndarray, position: np.ndarray, k_cache: np.ndarray, v_cache: np.ndarray) -> Any:
        feeds = dict(zip(STEP_INPUTS, (ids, position, k_cache, v_cache), strict=True))
        logits, k_out, v_out = session.run(None, feeds)
        return logits, k_out, v_out
    return run
