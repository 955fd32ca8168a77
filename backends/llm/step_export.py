"""The fixed-cache step (models/llm_step.py) exported to ONNX at the prefill's and the decode step's shapes, once
per cell (the cell's later processes load the first one's files: backends/artifacts.py)."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

from backends.artifacts import reusable, writing
from backends.base import Task
from backends.onnx_export import OPSET

STEP_INPUTS = ("ids", "position", "k_cache", "v_cache")
STEP_OUTPUTS = ("logits", "k_cache_out", "v_cache_out")
# phase -> the number of tokens its graph takes (the prompt length comes from the case)
PHASES = ("prefill", "decode")


def phase_length(task: Task, phase: str) -> int:
    return task.case["prompt"] if phase == "prefill" else 1


def export_step_onnx(task: Task, phase: str) -> tuple[Path, float]:
    """(path, seconds spent exporting: 0 when an earlier process of the cell exported it)."""
    name = f"llama_{phase}.onnx"
    done = reusable(task.artifact_dir, name)
    if done is not None:
        return done, 0.0
    import torch

    from models.llm import llama_model
    from models.llm_step import fixed_cache_step, step_example

    module = fixed_cache_step(llama_model(task.case))
    with writing(task.artifact_dir, name, task.workdir) as partial:
        start = time.perf_counter()
        # The exporter may print progress; stdout can be someone's protocol channel, so keep it on stderr.
        with contextlib.redirect_stdout(sys.stderr), torch.no_grad():
            torch.onnx.export(module, step_example(task.case, phase_length(task, phase)), str(partial),
                              dynamo=True, opset_version=OPSET, input_names=list(STEP_INPUTS),
                              output_names=list(STEP_OUTPUTS), external_data=False, verbose=False)
        seconds = time.perf_counter() - start
    return partial.parent / name, seconds
