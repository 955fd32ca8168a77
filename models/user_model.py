"""Bring your own model: an ONNX file, or a torch module factory, run through every backend that can import it.

The CLI checks the model (`check_user_model`) before any work starts, then names it in the environment variable
USER_MODEL_ENV, which cell subprocesses inherit; the registry then offers the workload "user_model".
- "torch:package.module:function": `function()` returns (module, example_inputs); the example inputs are the
  inputs (the run seed does not apply). Reference: the module in float64 when it runs in float64, else torch
  eager in float32. Every torch-based and ONNX-based path applies (no JAX definition exists).
- "onnx:/path/model.onnx": seeded standard-normal inputs at the graph's static input shapes. Reference: ONNX
  Runtime with every graph optimisation disabled, in float32. Only ONNX-consuming paths apply.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from models.network import ModelWorkload
from models.workload import Case, Shape

USER_MODEL_ENV = "MLCOMPARE_USER_MODEL"


class UserModelError(ValueError):
    """The user's model cannot be used; the message is one line saying why."""


@functools.cache
def _load_torch(target: str) -> tuple[Any, tuple[np.ndarray, ...]]:
    module_name, _, function_name = target.rpartition(":")
    if not module_name or not function_name:
        raise UserModelError(f"torch model {target!r}: expected package.module:function")
    try:
        factory = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as exc:
        raise UserModelError(f"torch model {target!r}: cannot import it: {exc}") from None
    if not callable(factory):
        raise UserModelError(f"torch model {target!r}: {function_name} is not callable")
    import torch

    made = factory()
    if not (isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], torch.nn.Module)):
        raise UserModelError(f"torch model {target!r}: {function_name}() must return (nn.Module, example_inputs)")
    module, examples = made
    examples = (examples,) if isinstance(examples, torch.Tensor) else tuple(examples)
    if not examples or not all(isinstance(t, torch.Tensor) and t.dtype == torch.float32 for t in examples):
        raise UserModelError(f"torch model {target!r}: example inputs must be float32 tensors")
    module.eval()
    try:
        with torch.no_grad():
            out = module(*examples)
    except Exception as exc:  # a shape mismatch, most often
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserModelError(f"torch model {target!r}: forward on its example inputs failed: {message}") from None
    if not isinstance(out, torch.Tensor):
        raise UserModelError(f"torch model {target!r}: the forward must return one tensor, got {type(out).__name__}")
    return module, tuple(t.detach().numpy().copy() for t in examples)


@functools.cache
def _load_onnx(path: str) -> tuple[tuple[str, ...], tuple[Shape, ...], int, int]:
    """(input names, input shapes, parameter count, reduction-length estimate) of a checked ONNX file."""
    import onnx

    file = Path(path)
    if not file.is_file():
        raise UserModelError(f"onnx model {path!r}: no such file")
    try:
        model = onnx.load(str(file))
        onnx.checker.check_model(model)
    except Exception as exc:
        raise UserModelError(f"onnx model {path!r}: not a valid ONNX model: {str(exc).splitlines()[0]}") from None
    initializers = {i.name: tuple(i.dims) for i in model.graph.initializer}
    names, shapes = [], []
    for graph_input in model.graph.input:
        if graph_input.name in initializers:
            continue
        tensor = graph_input.type.tensor_type
        if tensor.elem_type != onnx.TensorProto.FLOAT:
            raise UserModelError(f"onnx model {path!r}: input {graph_input.name!r} is not float32")
        dims = tuple(d.dim_value for d in tensor.shape.dim)
        if any(d <= 0 for d in dims):
            raise UserModelError(f"onnx model {path!r}: input {graph_input.name!r} has a dynamic shape; "
                                 "export it with static shapes")
        names.append(graph_input.name)
        shapes.append(dims)
    params = sum(int(np.prod(s)) for s in initializers.values())
    # Per weight, the larger of its fan-in (Conv/Gemm layout) and its first dimension (MatMul layout): an upper
    # bound of each layer's reduction length, summed over layers as for the built-in models.
    reduction = sum(max(int(np.prod(s[1:])), s[0]) for s in initializers.values() if len(s) >= 2)
    return tuple(names), tuple(shapes), params, max(reduction, 1)


def parse(spec: str) -> tuple[str, str]:
    kind, _, target = spec.partition(":")
    if kind not in ("onnx", "torch") or not target:
        raise UserModelError(f"user model {spec!r}: expected onnx:PATH or torch:package.module:function")
    return kind, target


def check_user_model(spec: str) -> str:
    """Load and check the model the spec names (raises UserModelError); returns a one-line description."""
    kind, target = parse(spec)
    if kind == "onnx":
        _, shapes, params, _ = _load_onnx(target)
        return f"ONNX file {target}: inputs {list(shapes)}, {params} parameters"
    module, inputs = _load_torch(target)
    return f"torch module {type(module).__name__} from {target}: inputs {[a.shape for a in inputs]}"


def activate_user_model(spec: str) -> str:
    """Check the model, then name it (absolute path) for this process and the cells it starts."""
    kind, target = parse(spec)
    if kind == "onnx":
        target = str(Path(target).resolve())
    else:  # the factory's package may live in the user's working directory
        cwd = os.getcwd()
        if cwd not in sys.path:
            sys.path.insert(0, cwd)
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [cwd, os.environ.get("PYTHONPATH")]))
    description = check_user_model(f"{kind}:{target}")
    os.environ[USER_MODEL_ENV] = f"{kind}:{target}"
    return description


class UserModel(ModelWorkload):
    name = "user_model"
    description = "a user's model (MLCOMPARE_USER_MODEL)"
    tiny_case = "given"
    default_cases = ("given",)
    quick_cases = ("given",)

    def __init__(self) -> None:
        self.kind_of, self.target = parse(os.environ.get(USER_MODEL_ENV, ""))
        if self.kind_of == "onnx":
            self.onnx_path: Path | None = Path(self.target).resolve()
            self.definitions = ("onnx",)
        else:
            self.onnx_path = None
            self.definitions = ("torch",)
        if self.kind_of == "onnx":
            self.shapes = _load_onnx(self.target)[1]
        else:
            self.shapes = tuple(a.shape for a in _load_torch(self.target)[1])
        first = self.shapes[0]
        self.cases = (Case.of("given", batch=first[0] if first else 1),)
        self.description = f"user model ({self.kind_of}: {self.target})"
        self._output_shape: Shape | None = None

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return self.shapes

    def output_shape(self, case: Case) -> Shape:
        if self._output_shape is None:  # known only by running it once
            self._output_shape = tuple(self.reference(case, self.make_inputs(case)).shape)
        return self._output_shape

    def make_inputs(self, case: Case, seed: int = 0) -> tuple[np.ndarray, ...]:
        if self.kind_of == "torch":
            return tuple(a.copy() for a in _load_torch(self.target)[1])
        return super().make_inputs(case, seed)

    def build_module(self, case: Case) -> Any:
        return _load_torch(self.target)[0]

    def torch_module(self, case: Case) -> Any:
        return _load_torch(self.target)[0]  # the user's own weights: not reseeded

    def jax_apply(self, params: dict[str, Any], case: Case, *inputs: Any) -> Any:
        raise NotImplementedError("a user model has no JAX definition")

    def reference(self, case: Case, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
        if self.kind_of == "onnx":
            return _onnx_reference(self.target, inputs)
        try:
            return super().reference(case, inputs)
        except Exception:  # no float64 path (e.g. float32-only buffers): torch eager in float32 is the reference
            return self.numpy_forward(case, *inputs)

    def flops(self, case: Case) -> float:
        return super().flops(case) if self.kind_of == "torch" else 0.0  # not counted for ONNX files

    def parameter_count(self, case: Case) -> int | None:
        return super().parameter_count(case) if self.kind_of == "torch" else _load_onnx(self.target)[2]

    def reduction_length(self, case: Case) -> int:
        return super().reduction_length(case) if self.kind_of == "torch" else _load_onnx(self.target)[3]

    def bytes_moved(self, case: Case) -> float:
        inputs = sum(int(np.prod(s)) for s in self.input_shapes(case))
        return 4.0 * (inputs + int(np.prod(self.output_shape(case))) + (self.parameter_count(case) or 0))


def _onnx_reference(path: str, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
    """ONNX Runtime's CPU output with every graph rewrite off, on one thread: the plainest execution."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    names = _load_onnx(path)[0]
    return np.asarray(session.run(None, dict(zip(names, inputs, strict=True)))[0])
