"""The inputs of a user's model, from its declaration (ONNX graph inputs, or a torch factory's example inputs) and
the run's flags: --input-shape fixes dynamic dimensions, --input-range sets the span of seeded integer ids,
--inputs FILE.npz gives real inputs (name -> array) that then define the shapes. Every flag is checked here,
before any work starts; a bad one raises UserModelError with one line saying why.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.workload import Shape, is_integer

# Seeded token ids are drawn in [0, 100) unless --input-range says otherwise: inside any vocabulary or embedding
# table of at least 100 rows, so a model's lookups never go out of bounds.
DEFAULT_ID_RANGE = (0, 100)
INTEGER_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))


class UserModelError(ValueError):
    """The user's model (or a flag about its inputs) cannot be used; the message is one line saying why."""


@dataclass(frozen=True)
class Declared:
    """One input as the model declares it: None for a dynamic dimension. `fixed`: a static dimension may not be
    changed (an ONNX graph's); a torch example's shape is only an example, so --input-shape overrides it."""

    name: str
    dims: tuple[int | None, ...]
    dtype: np.dtype
    fixed: bool


@dataclass(frozen=True)
class InputOptions:
    """The flags as given (--input-shape, --input-range, --inputs), kept as text for the manifest and the cells."""

    shapes: str = ""
    ranges: str = ""
    npz: str = ""

    def to_json(self) -> str:
        return json.dumps({"shapes": self.shapes, "ranges": self.ranges, "npz": self.npz}) if self.given else ""

    @classmethod
    def from_json(cls, text: str) -> InputOptions:
        data = json.loads(text) if text else {}
        return cls(str(data.get("shapes", "")), str(data.get("ranges", "")), str(data.get("npz", "")))

    @property
    def given(self) -> bool:
        return bool(self.shapes or self.ranges or self.npz)


@dataclass(frozen=True)
class Resolved:
    """Every input's final shape, dtype and id range; `arrays` when they come from a file (used verbatim)."""

    names: tuple[str, ...]
    shapes: tuple[Shape, ...]
    dtypes: tuple[np.dtype, ...]
    ranges: tuple[tuple[int, int] | None, ...]
    # Inputs whose values the run draws (seeded) rather than take from the declaration (a torch example).
    drawn: frozenset[str] = frozenset()
    arrays: tuple[np.ndarray, ...] | None = field(default=None, compare=False)

    def seeded(self, seed: int, examples: tuple[np.ndarray, ...] | None = None) -> tuple[np.ndarray, ...]:
        """The inputs: the file's, else seeded (float32 standard normal, integer ids uniform in their range), except
        torch examples whose shape and range were not changed (kept as the factory made them)."""
        if self.arrays is not None:
            return tuple(a.copy() for a in self.arrays)
        rng = np.random.default_rng(seed)
        made = []
        for index, (name, shape, dtype, span) in enumerate(zip(self.names, self.shapes, self.dtypes, self.ranges,
                                                                strict=True)):
            if examples is not None and name not in self.drawn:
                made.append(examples[index].copy())
            elif is_integer(dtype):
                low, high = span or DEFAULT_ID_RANGE
                made.append(rng.integers(low, high, size=shape, dtype=dtype))
            else:
                made.append(rng.standard_normal(shape, dtype=np.float32))
        return tuple(made)


def _pairs(flag: str, text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UserModelError(f"{flag} {item!r}: expected name=VALUE")
        found[name.strip()] = value.strip()
    return found


def parse_shapes(text: str) -> dict[str, Shape]:
    """'x=1x3x640x640,ids=1x128' -> {name: shape}."""
    shapes = {}
    for name, value in _pairs("--input-shape", text).items():
        dims = value.lower().split("x")
        bad = [d for d in dims if not re.fullmatch(r"[0-9]+", d.strip()) or int(d) <= 0]
        if bad:
            raise UserModelError(f"--input-shape {name}={value}: dimension {bad[0]!r} is not a positive integer")
        shapes[name] = tuple(int(d) for d in dims)
    return shapes


def parse_ranges(text: str) -> dict[str, tuple[int, int]]:
    """'ids=0:30522' -> {name: (low, high)}, high exclusive."""
    ranges = {}
    for name, value in _pairs("--input-range", text).items():
        match = re.fullmatch(r"\s*(-?[0-9]+)\s*:\s*(-?[0-9]+)\s*", value)
        if not match or int(match[1]) >= int(match[2]):
            raise UserModelError(f"--input-range {name}={value}: expected LOW:HIGH, integers with LOW < HIGH "
                                 "(HIGH exclusive)")
        ranges[name] = (int(match[1]), int(match[2]))
    return ranges


def _show(dims: tuple[int | None, ...]) -> str:
    return "x".join("?" if d is None else str(d) for d in dims) or "scalar"


def _fit(flag: str, spec: Declared, shape: Shape) -> None:
    """A shape given for `spec` must have its rank and keep its fixed static dimensions."""
    if len(shape) != len(spec.dims):
        raise UserModelError(f"{flag}: input {spec.name!r} has rank {len(spec.dims)} ({_show(spec.dims)}), "
                             f"not {len(shape)}")
    for axis, (declared, given) in enumerate(zip(spec.dims, shape, strict=True)):
        if spec.fixed and declared is not None and declared != given:
            raise UserModelError(f"{flag}: input {spec.name!r} has static dimension {axis} = {declared} "
                                 f"({_show(spec.dims)}), not {given}")


def _unknown(flag: str, names: list[str], declared: tuple[Declared, ...]) -> None:
    valid = [d.name for d in declared]
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise UserModelError(f"{flag}: the model has no input {unknown[0]!r} (inputs: {', '.join(valid)})")


def _load_npz(path: str, declared: tuple[Declared, ...], shapes: dict[str, Shape]) -> tuple[np.ndarray, ...]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except Exception as exc:
        raise UserModelError(f"--inputs {path}: cannot read it as .npz: {str(exc).splitlines()[0]}") from None
    _unknown(f"--inputs {path}", list(arrays), declared)
    for spec in declared:
        if spec.name not in arrays:
            raise UserModelError(f"--inputs {path}: no array for input {spec.name!r}")
        array = arrays[spec.name]
        if array.dtype != spec.dtype:
            raise UserModelError(f"--inputs {path}: input {spec.name!r} is {array.dtype}, the model takes "
                                 f"{spec.dtype}")
        _fit(f"--inputs {path}", spec, tuple(array.shape))
        if spec.name in shapes and shapes[spec.name] != tuple(array.shape):
            raise UserModelError(f"--inputs {path}: input {spec.name!r} is {_show(array.shape)}, --input-shape "
                                 f"says {_show(shapes[spec.name])}")
    return tuple(np.ascontiguousarray(arrays[spec.name]) for spec in declared)


def resolve_inputs(declared: tuple[Declared, ...], options: InputOptions) -> Resolved:
    """Each input's shape, dtype and range from the declaration and the flags, or UserModelError."""
    for spec in declared:
        if spec.dtype not in INTEGER_DTYPES and spec.dtype != np.float32:
            raise UserModelError(f"input {spec.name!r} is {spec.dtype}: float32, int64 and int32 inputs only")
    shapes, ranges = parse_shapes(options.shapes), parse_ranges(options.ranges)
    _unknown("--input-shape", list(shapes), declared)
    _unknown("--input-range", list(ranges), declared)
    by_name = {spec.name: spec for spec in declared}
    for name, shape in shapes.items():
        _fit(f"--input-shape {name}={_show(shape)}", by_name[name], shape)
    for name in ranges:
        if not is_integer(by_name[name].dtype):
            raise UserModelError(f"--input-range {name}: input {name!r} is {by_name[name].dtype}; a range applies "
                                 "to integer (token id) inputs only")
    arrays = None
    if options.npz:
        if ranges:
            raise UserModelError("--input-range has no effect with --inputs (the file gives the values)")
        arrays = _load_npz(options.npz, declared, shapes)
        shapes = {spec.name: tuple(a.shape) for spec, a in zip(declared, arrays, strict=True)}
    final = []
    for spec in declared:
        shape = shapes.get(spec.name, spec.dims)
        if any(d is None for d in shape):
            example = "x".join("1" if d is None else str(d) for d in spec.dims)
            raise UserModelError(f"input {spec.name!r} has a dynamic shape {_show(spec.dims)}; fix it with "
                                 f"--input-shape {spec.name}={example} (or give --inputs FILE.npz)")
        final.append(tuple(int(d) for d in shape))  # type: ignore[arg-type]
    drawn = frozenset(shapes) | frozenset(ranges)
    return Resolved(names=tuple(s.name for s in declared), shapes=tuple(final),
                    dtypes=tuple(s.dtype for s in declared),
                    ranges=tuple(ranges.get(s.name) for s in declared), drawn=drawn, arrays=arrays)


def onnx_declared(model: Any) -> tuple[Declared, ...]:
    """The graph inputs that are not initializers, with their element types and static dimensions."""
    from onnx import helper

    initializers = {i.name for i in model.graph.initializer}
    declared = []
    for graph_input in model.graph.input:
        if graph_input.name in initializers:
            continue
        tensor = graph_input.type.tensor_type
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type))
        dims = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tensor.shape.dim)
        declared.append(Declared(graph_input.name, dims, dtype, fixed=True))
    return tuple(declared)


def static_onnx(path: Path, resolved: Resolved, cache_dir: Path,
                check: Callable[[str | bytes], None]) -> tuple[Path, str]:
    """The ONNX file with every input at its resolved shape and shapes re-inferred, written once to
    `cache_dir/user_model/<sha256>.onnx` (the same copy for every backend) after `check(model)` passed; (path,
    sha256). A file whose inputs are all static already is used as it is (its own sha256)."""
    import onnx

    model = onnx.load(str(path))
    shapes = dict(zip(resolved.names, resolved.shapes, strict=True))
    declared = {d.name: d.dims for d in onnx_declared(model)}
    if all(declared[name] == shape for name, shape in shapes.items()):
        check(str(path))
        return path, hashlib.sha256(path.read_bytes()).hexdigest()
    for graph_input in model.graph.input:
        if graph_input.name in shapes:
            for dim, size in zip(graph_input.type.tensor_type.shape.dim, shapes[graph_input.name], strict=True):
                dim.Clear()  # drops a symbolic dim_param ("batch")
                dim.dim_value = size
    # Stale symbolic shapes inside and at the outputs would contradict the static ones: inferred again.
    del model.graph.value_info[:]
    for output in model.graph.output:
        output.type.tensor_type.ClearField("shape")
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as exc:
        raise UserModelError(f"onnx model {str(path)!r}: shape inference at the given input shapes failed: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    data = model.SerializeToString()
    check(data)  # nothing is written for a model that fails
    digest = hashlib.sha256(data).hexdigest()
    target = cache_dir / "user_model" / f"{digest[:16]}.onnx"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".partial{id(data)}")
        partial.write_bytes(data)
        partial.replace(target)  # atomic: a concurrent run never reads half a file
    return target, digest
