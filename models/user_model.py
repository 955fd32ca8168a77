"""Bring your own model: an ONNX file, or a torch module factory, run through every backend that can import it.

The CLI checks the model and its input flags (`activate_user_model`) before any work starts, then names them in
the environment (USER_MODEL_ENV, USER_INPUTS_ENV), which cell subprocesses inherit; the registry then offers the
workload "user_model". Inputs (models/user_inputs.py): float32 and int64/int32 (token ids), as many as the model
takes; dynamic dimensions fixed by --input-shape; seeded ids in --input-range (default [0, 100)); or real inputs
from --inputs FILE.npz. Outputs: one or several, each verified against its own reference output.
- "torch:package.module:function": `function()` returns (module, example_inputs); inputs are named after the
  forward's parameters. The examples are the inputs (the run seed does not apply) unless a flag reshapes or
  re-ranges one, which is then seeded. Reference: the module in float64; a module that cannot run in float64 is
  referenced by torch eager in float32, the record says so, and the torch-eager float32 cell, its own reference,
  is marked self-referenced instead of passed. Every torch-based and ONNX-based path applies, and the JAX-based
  ones through the torch.export bridge.
- "onnx:/path/model.onnx": made static once (models/user_inputs.static_onnx: a copy in the run's cache, its
  sha256 recorded) before any backend sees it. Reference: ONNX Runtime in float32 with every graph optimisation off
  (an ONNX file has no float64 definition to run). Only ONNX-consuming paths apply.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from models.network import ModelWorkload
from models.user_inputs import Declared, InputOptions, Resolved, UserModelError, onnx_declared, resolve_inputs
from models.user_inputs import static_onnx as make_static
from models.workload import Case, Shape, is_integer

USER_MODEL_ENV = "MLCOMPARE_USER_MODEL"
USER_INPUTS_ENV = "MLCOMPARE_USER_MODEL_INPUTS"
TORCH_INPUT_DTYPES = ("float32", "int64", "int32")
ONNX_REFERENCE = "onnxruntime float32, graph optimisations off (an ONNX file has no float64 definition)"

__all__ = ["USER_INPUTS_ENV", "USER_MODEL_ENV", "UserModel", "UserModelError", "activate_user_model"]


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _outputs(out: Any) -> tuple[Any, ...] | None:
    """A forward's result as a tuple of tensors (one, or a tuple/list of them); None for anything else."""
    import torch

    outs = (out,) if isinstance(out, torch.Tensor) else tuple(out) if isinstance(out, tuple | list) else ()
    return outs if outs and all(isinstance(o, torch.Tensor) for o in outs) else None


@functools.cache
def _load_torch(target: str) -> tuple[Any, tuple[np.ndarray, ...], tuple[str, ...], int]:
    """(module, example inputs, input names, output count) of a checked factory."""
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
    dtypes = {getattr(torch, d) for d in TORCH_INPUT_DTYPES}
    if not examples or not all(isinstance(t, torch.Tensor) and t.dtype in dtypes for t in examples):
        raise UserModelError(f"torch model {target!r}: example inputs must be tensors of "
                             f"{', '.join(TORCH_INPUT_DTYPES)}")
    module.eval()
    arrays = tuple(t.detach().numpy().copy() for t in examples)
    count = _torch_forward(target, module, arrays, "on its example inputs")
    return module, arrays, _input_names(module, len(arrays)), count


def _torch_forward(target: str, module: Any, arrays: tuple[np.ndarray, ...], where: str) -> int:
    """Run the module once (a shape mismatch shows here, in one line); returns its number of outputs."""
    import torch

    try:
        with torch.no_grad():
            out = module(*(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays))
    except Exception as exc:
        raise UserModelError(f"torch model {target!r}: forward {where} failed: {_first_line(exc)}") from None
    outs = _outputs(out)
    if outs is None:
        raise UserModelError(f"torch model {target!r}: the forward must return a tensor or a tuple of tensors, "
                             f"got {type(out).__name__}")
    return len(outs)


def _input_names(module: Any, count: int) -> tuple[str, ...]:
    """The forward's positional parameter names (what --input-shape calls them), else in0..inN."""
    try:
        parameters = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    plain = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return tuple(plain[:count]) if len(plain) >= count else tuple(f"in{i}" for i in range(count))


@functools.cache
def _load_onnx(path: str) -> tuple[tuple[Declared, ...], int, int, int]:
    """(declared inputs, output count, parameter count, reduction-length estimate) of a checked ONNX file."""
    import onnx

    file = Path(path)
    if not file.is_file():
        raise UserModelError(f"onnx model {path!r}: no such file")
    try:
        model = onnx.load(str(file))
        onnx.checker.check_model(model)
        declared = onnx_declared(model)
    except Exception as exc:
        raise UserModelError(f"onnx model {path!r}: not a valid ONNX model: {_first_line(exc)}") from None
    shapes = [tuple(i.dims) for i in model.graph.initializer]
    params = sum(int(np.prod(s)) for s in shapes)
    # Per weight, the larger of its fan-in (Conv/Gemm layout) and its first dimension (MatMul layout): an upper
    # bound of each layer's reduction length, summed over layers as for the built-in models.
    reduction = sum(max(int(np.prod(s[1:])), s[0]) for s in shapes if len(s) >= 2)
    return declared, len(model.graph.output), params, max(reduction, 1)


@functools.cache
def _resolved(kind: str, target: str, options: InputOptions) -> Resolved:
    if kind == "onnx":
        return resolve_inputs(_load_onnx(target)[0], options)
    _, examples, names, _ = _load_torch(target)
    declared = tuple(Declared(n, tuple(a.shape), a.dtype, fixed=False) for n, a in zip(names, examples, strict=True))
    return resolve_inputs(declared, options)


def parse(spec: str) -> tuple[str, str]:
    kind, _, target = spec.partition(":")
    if kind not in ("onnx", "torch") or not target:
        raise UserModelError(f"user model {spec!r}: expected onnx:PATH or torch:package.module:function")
    return kind, target


def activate_user_model(spec: str, options: InputOptions | None = None, cache_dir: Path | None = None) -> str:
    """Check the model and its input flags, make an ONNX file static (into `cache_dir`), then name them for this
    process and the cells it starts. Returns a one-line description; raises UserModelError (nothing written)."""
    kind, target = parse(spec)
    options = options or InputOptions()
    if kind == "onnx":
        target = str(Path(target).resolve())
    else:  # the factory's package may live in the user's working directory
        cwd = os.getcwd()
        if cwd not in sys.path:
            sys.path.insert(0, cwd)
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [cwd, os.environ.get("PYTHONPATH")]))
    if options.npz:
        options = InputOptions(options.shapes, options.ranges, str(Path(options.npz).resolve()))
    resolved = _resolved(kind, target, options)
    saved: dict[str, str] = {"options": options.to_json()}
    if kind == "torch":
        module, examples, _, _ = _load_torch(target)
        if resolved.drawn or resolved.arrays is not None:  # reshaped or given inputs: the model must take them
            _torch_forward(target, module, resolved.seeded(0, examples), "at the given input shapes")
        description = f"torch module {type(module).__name__} from {target}"
    else:
        cache = cache_dir or Path(tempfile.gettempdir()) / "mlcompare-cache"

        def check(model: str | bytes) -> None:  # once, as the reference will: ids out of an embedding's range show
            try:
                _onnx_reference(model, resolved.names, resolved.seeded(0))
            except Exception as exc:
                raise UserModelError(f"onnx model {target!r}: onnxruntime failed on the inputs: "
                                     f"{_first_line(exc)}") from None

        static, digest = make_static(Path(target), resolved, cache, check)
        saved.update(static=str(static), sha256=digest)
        description = f"ONNX file {target} (sha256 {digest[:12]})"
    os.environ[USER_MODEL_ENV] = f"{kind}:{target}"
    os.environ[USER_INPUTS_ENV] = json.dumps(saved)
    shapes = ", ".join(f"{n} {'x'.join(map(str, s))} {d}" for n, s, d in
                       zip(resolved.names, resolved.shapes, resolved.dtypes, strict=True))
    return f"{description}: inputs {shapes}"


class UserModel(ModelWorkload):
    name = "user_model"
    description = "a user's model (MLCOMPARE_USER_MODEL)"
    tiny_case = "given"
    default_cases = ("given",)
    quick_cases = ("given",)

    def __init__(self) -> None:
        self.kind_of, self.target = parse(os.environ.get(USER_MODEL_ENV, ""))
        saved = json.loads(os.environ.get(USER_INPUTS_ENV) or "{}")
        self.options = InputOptions.from_json(saved.get("options", ""))
        self.resolved = _resolved(self.kind_of, self.target, self.options)
        self.sha256 = saved.get("sha256")
        if self.kind_of == "onnx":
            # The static copy every ONNX backend imports (the original when it was static already).
            self.onnx_path: Path | None = Path(saved.get("static") or self.target).resolve()
            self.definitions = ("onnx",)
            self._reference_name = ONNX_REFERENCE
        else:
            self.onnx_path = None
            self.definitions = ("torch",)
            self._reference_name = "torch float64"
        self.shapes = self.resolved.shapes
        first = self.shapes[0]
        self.cases = (Case.of("given", batch=first[0] if first else 1),)
        self.description = f"user model ({self.kind_of}: {self.target})"
        self._output_shapes: tuple[Shape, ...] | None = None
        self._eager_reference = False  # set when torch eager float32 had to be the reference

    # Equal only to the same model with the same inputs: the per-model caches (models/network.py) key on it.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, UserModel) and (self.target, self.options) == (other.target, other.options)

    def __hash__(self) -> int:
        return hash((self.name, self.target, self.options))

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return self.shapes

    def input_dtypes(self, case: Case) -> tuple[np.dtype, ...]:
        return self.resolved.dtypes

    def output_count(self, case: Case) -> int:
        if self.kind_of == "onnx":
            return _load_onnx(self.target)[1]
        return _load_torch(self.target)[3]

    def output_shape(self, case: Case) -> Shape:
        return self.output_shapes(case)[0]

    def output_shapes(self, case: Case) -> tuple[Shape, ...]:
        if self._output_shapes is None:  # known only by running it once
            reference = self.reference(case, self.make_inputs(case))
            outputs = reference if isinstance(reference, tuple) else (reference,)
            self._output_shapes = tuple(tuple(o.shape) for o in outputs)
        return self._output_shapes

    def make_inputs(self, case: Case, seed: int = 0) -> tuple[np.ndarray, ...]:
        examples = _load_torch(self.target)[1] if self.kind_of == "torch" else None
        return self.resolved.seeded(seed, examples)

    def build_module(self, case: Case) -> Any:
        return _load_torch(self.target)[0]

    def torch_module(self, case: Case) -> Any:
        return _load_torch(self.target)[0]  # the user's own weights: not reseeded

    def jax_apply(self, params: dict[str, Any], case: Case, *inputs: Any) -> Any:
        raise NotImplementedError("a user model has no JAX definition")

    def numpy_forward(self, case: Case, *arrays: np.ndarray) -> Any:
        return self._torch_outputs(arrays, np.dtype(np.float32))

    def reference(self, case: Case, inputs: tuple[np.ndarray, ...]) -> Any:
        """Every output's reference: one array, or a tuple of them for a model with several outputs."""
        if self.kind_of == "onnx":
            assert self.onnx_path is not None
            return _onnx_reference(str(self.onnx_path), self.resolved.names, inputs)
        try:
            return self._torch_outputs(self.reference_inputs(case, inputs), np.dtype(np.float64))
        except Exception as exc:  # no float64 path (e.g. float32-only buffers): said in the record, not hidden
            self._eager_reference = True
            self._reference_name = f"torch eager float32 (the module does not run in float64: {_first_line(exc)})"
            return self._torch_outputs(inputs, np.dtype(np.float32))

    def reference_name(self, case: Case) -> str:
        return self._reference_name

    def self_referenced(self, backend: str, variant: str, dtype: str) -> bool:
        return self._eager_reference and backend == "torch-eager" and dtype == "float32"

    def _torch_outputs(self, arrays: tuple[np.ndarray, ...], dtype: np.dtype) -> Any:
        """The module with its weights and float inputs in `dtype`; integer inputs (ids) as they are."""
        import torch

        module = self.torch_module(self.cases[0])
        if dtype == np.float64:
            module = copy.deepcopy(module).to(torch.float64)
        tensors = [torch.from_numpy(np.ascontiguousarray(a if is_integer(a.dtype) else a.astype(dtype)))
                   for a in arrays]
        with torch.no_grad():
            outs = _outputs(module(*tensors)) or ()
        arrays_out = tuple(o.detach().numpy() for o in outs)
        return arrays_out[0] if len(arrays_out) == 1 else arrays_out

    def flops(self, case: Case) -> float:
        return super().flops(case) if self.kind_of == "torch" else 0.0  # not counted for ONNX files

    def parameter_count(self, case: Case) -> int | None:
        return super().parameter_count(case) if self.kind_of == "torch" else _load_onnx(self.target)[2]

    def reduction_length(self, case: Case) -> int:
        return super().reduction_length(case) if self.kind_of == "torch" else _load_onnx(self.target)[3]

    def bytes_moved(self, case: Case) -> float:
        inputs = sum(int(np.prod(s)) for s in self.input_shapes(case))
        outputs = sum(int(np.prod(s)) for s in self.output_shapes(case))
        return 4.0 * (inputs + outputs + (self.parameter_count(case) or 0))

    def record_details(self, case: Case) -> dict[str, Any]:
        """What the record says about the model and its inputs."""
        return {"user_model_inputs": {n: {"shape": list(s), "dtype": str(d), **({"range": list(r)} if r else {})}
                                      for n, s, d, r in zip(self.resolved.names, self.resolved.shapes,
                                                            self.resolved.dtypes, self.resolved.ranges, strict=True)},
                "user_model_input_source": "file " + self.options.npz if self.options.npz else "seeded",
                **({"user_model_onnx": str(self.onnx_path), "user_model_sha256": self.sha256}
                   if self.kind_of == "onnx" else {})}


def _onnx_reference(path: str | bytes, names: tuple[str, ...], inputs: tuple[np.ndarray, ...]) -> Any:
    """ONNX Runtime's CPU outputs with every graph rewrite off, on one thread: the plainest execution."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    options.log_severity_level = 4  # a failure is raised (and said in one line), not also logged
    session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    outs = tuple(np.asarray(o) for o in session.run(None, dict(zip(names, inputs, strict=True))))
    return outs[0] if len(outs) == 1 else outs
