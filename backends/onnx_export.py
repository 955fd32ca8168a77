"""The one torch -> ONNX export every ONNX-consuming adapter uses (ONNX Runtime, IREE's ONNX path, TVM)."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backends.artifacts import reusable, writing
from backends.base import Task

# Opset 18: the oldest opset the dynamo exporter targets natively (older ones go through a version converter),
# and well inside what ONNX Runtime 1.31 and IREE's importer (torch-mlir's ONNX conversions) accept.
OPSET = 18


@dataclass(frozen=True)
class OnnxExport:
    path: Path
    export_s: float
    opset: int
    input_names: tuple[str, ...]
    reused: bool = False  # loaded from the cell's first process (export_s is then 0)

    @property
    def bytes(self) -> int:
        return self.path.stat().st_size


def input_names(count: int) -> tuple[str, ...]:
    return tuple(f"in{i}" for i in range(count))


def export_onnx(task: Task, directory: Path | None = None, opset: int = OPSET) -> OnnxExport:
    """Export `task.workload`'s torch module at the case's static shapes to `<directory>/<workload>.onnx`
    (by default the cell's artifact_dir: the cell's later processes load the first one's export).

    Every input stays a graph input (in0..inN, weights included) so all backends get the same data.
    A workload that is an ONNX file already (a user's model) is used as it is, with no export.
    """
    given = getattr(task.workload, "onnx_path", None)
    if given is not None:
        return given_onnx(Path(given))
    name = f"{task.workload.name}.onnx"
    names = input_names(len(task.inputs))
    done = reusable(task.artifact_dir if directory is None else None, name)
    if done is not None:
        return OnnxExport(path=done, export_s=0.0, opset=opset, input_names=names, reused=True)
    with writing(task.artifact_dir if directory is None else directory, name, task.workdir) as partial:
        export_s = _export(task, partial, opset)
    return OnnxExport(path=partial.parent / name, export_s=export_s, opset=opset, input_names=names)


def _export(task: Task, path: Path, opset: int) -> float:
    import torch

    module = task.workload.torch_module(task.case)
    args = tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in task.inputs)
    names = input_names(len(args))
    start = time.perf_counter()
    # The exporter may print progress; stdout can be someone's protocol channel, so keep it on stderr.
    with contextlib.redirect_stdout(sys.stderr), torch.no_grad():
        torch.onnx.export(
            module,
            args,
            str(path),
            dynamo=True,
            opset_version=opset,
            input_names=list(names),
            output_names=[f"out{i}" for i in range(task.workload.output_count(task.case))],
            dynamic_shapes=None,  # static shapes: every backend compiles for exactly this case
            external_data=False,  # one self-contained file (no weights to externalise anyway)
            verbose=False,
        )
    return time.perf_counter() - start


def given_onnx(path: Path) -> OnnxExport:
    """An existing ONNX file: its own opset and input names (initializers are not inputs)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    names = tuple(i.name for i in model.graph.input if i.name not in initializers)
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    return OnnxExport(path=path, export_s=0.0, opset=opset, input_names=names)
