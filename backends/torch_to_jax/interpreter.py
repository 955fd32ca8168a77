"""torch.export -> core ATen -> a pure JAX function.

`bridge(module, example_inputs)` exports the module at the examples' static shapes, decomposes it to the core ATen
op set, and returns `fn(params, *inputs)`: a Python interpreter over the graph that calls one JAX lowering per
node (registry.OPS). Under `jax.jit` the interpreter runs once, at trace time, so the compiled program is only
the lowerings' jax.lax ops. Parameters, buffers and lifted constants are the `params` pytree (by state-dict name).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from backends.torch_to_jax.registry import Unavailable, lowering_for


class BridgeError(Exception):
    """The module cannot go through the bridge: torch.export failed, or the graph holds what it cannot express."""


class UnsupportedOp(BridgeError):
    """The graph uses ATen ops the bridge has no lowering for (all of them are named)."""

    def __init__(self, ops: Sequence[str]) -> None:
        self.ops = tuple(ops)
        super().__init__(f"no JAX lowering for {', '.join(self.ops)}")


class LoweringMismatch(RuntimeError):
    """A lowering's result disagrees with the shape torch recorded for the node: a bug in the bridge."""


@dataclass(frozen=True)
class Bridged:
    fn: Callable[..., Any]  # fn(params, *inputs): pure and jit-able
    params: dict[str, np.ndarray]  # parameters, buffers and lifted constants, float32 as exported
    ops: tuple[str, ...]  # the distinct ATen ops of the decomposed graph
    export_s: float  # torch.export + run_decompositions


def export_core_aten(module: Any, example_inputs: Sequence[Any]) -> Any:
    """The module's ExportedProgram at the examples' shapes, decomposed to core ATen."""
    import torch

    examples = tuple(torch.from_numpy(np.ascontiguousarray(a)) if isinstance(a, np.ndarray) else a
                     for a in example_inputs)
    try:
        with torch.no_grad():
            return torch.export.export(module, examples).run_decompositions()
    except Exception as exc:  # graph breaks, data-dependent control flow, unsupported Python
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BridgeError(f"torch.export failed: {type(exc).__name__}: {first}") from exc


def bridge(module: Any, example_inputs: Sequence[Any], float_dtype: str | None = None) -> Bridged:
    """Convert a torch module. `float_dtype` (e.g. "bfloat16") replaces float32 everywhere in the graph."""
    start = time.perf_counter()
    program = export_core_aten(module, example_inputs)
    export_s = time.perf_counter() - start
    graph = program.graph_module.graph
    targets = [n.target for n in graph.nodes if n.op == "call_function"]
    missing = sorted({_name(t) for t in targets if not _is_getitem(t) and lowering_for(t) is None})
    if missing:
        raise UnsupportedOp(missing)
    placeholders, params = _inputs_of(program)
    dtype_of = _dtype_mapping(float_dtype)

    def fn(params: dict[str, Any], *inputs: Any) -> Any:
        if len(inputs) != placeholders.count(None):
            raise TypeError(f"expected {placeholders.count(None)} inputs, got {len(inputs)}")
        feed = iter(inputs)
        env: dict[Any, Any] = {}
        for node, source in zip(graph.find_nodes(op="placeholder"), placeholders, strict=True):
            env[node] = conform(next(feed) if source is None else params[source], node, dtype_of)
        for node in graph.nodes:
            if node.op == "call_function":
                env[node] = conform(_call(node, env), node, dtype_of)
            elif node.op == "output":
                outputs = [_lookup(env, out) for out in node.args[0]]
                return outputs[0] if len(outputs) == 1 else tuple(outputs)
        raise BridgeError("the exported graph has no output node")

    ops = tuple(sorted({_name(t) for t in targets if not _is_getitem(t)}))
    return Bridged(fn=fn, params=params, ops=ops, export_s=export_s)


def _inputs_of(program: Any) -> tuple[list[str | None], dict[str, np.ndarray]]:
    """Per placeholder, in graph order: the params key it reads, or None for a user input; and the params."""
    from torch.export.graph_signature import InputKind, OutputKind

    if any(spec.kind != OutputKind.USER_OUTPUT for spec in program.graph_signature.output_specs):
        raise BridgeError("the exported graph mutates its inputs or buffers (a training-mode module?)")
    tensors = {**program.state_dict, **program.constants}
    sources: list[str | None] = []
    params: dict[str, np.ndarray] = {}
    for spec in program.graph_signature.input_specs:
        if spec.kind == InputKind.USER_INPUT:
            sources.append(None)
        elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER, InputKind.CONSTANT_TENSOR):
            sources.append(spec.target)
            params[spec.target] = tensors[spec.target].detach().cpu().numpy().copy()
        else:
            raise BridgeError(f"the exported graph takes a {spec.kind.name.lower()} input ({spec.target})")
    return sources, params


def _call(node: Any, env: dict[Any, Any]) -> Any:
    from torch.fx.node import map_arg

    args, kwargs = map_arg((node.args, node.kwargs), lambda n: _lookup(env, n))
    if _is_getitem(node.target):
        return args[0][args[1]]
    try:
        return lowering_for(node.target)(*args, **kwargs)
    except (TypeError, ValueError, NotImplementedError) as exc:  # arguments the lowering does not handle
        raise BridgeError(f"{_name(node.target)} ({node.name}): {type(exc).__name__}: {exc}") from exc


def _lookup(env: dict[Any, Any], node: Any) -> Any:
    value = env[node]
    if isinstance(value, Unavailable):
        raise UnsupportedOp([f"{value.what} (used by the graph as {node.name})"])
    return value


def conform(value: Any, node: Any, dtype_of: Callable[[Any], Any]) -> Any:
    """Give a node's value the dtype torch recorded for it, and check its shape (a wrong one is a bridge bug)."""
    import jax.numpy as jnp
    import torch

    expected = node.meta.get("val")
    if isinstance(expected, list | tuple) and isinstance(value, list | tuple):
        return type(value)(_conform_one(v, e, node, dtype_of) for v, e in zip(value, expected, strict=False))
    if isinstance(expected, torch.Tensor):
        return _conform_one(jnp.asarray(value) if not hasattr(value, "shape") else value, expected, node, dtype_of)
    return value


def _conform_one(value: Any, expected: Any, node: Any, dtype_of: Callable[[Any], Any]) -> Any:
    import torch

    if not isinstance(expected, torch.Tensor) or not hasattr(value, "shape"):
        return value
    if tuple(value.shape) != tuple(expected.shape):
        raise LoweringMismatch(f"{_name(node.target)} ({node.name}) gave shape {tuple(value.shape)}, "
                               f"torch has {tuple(expected.shape)}")
    dtype = dtype_of(expected.dtype)
    return value if value.dtype == dtype else value.astype(dtype)


def _dtype_mapping(float_dtype: str | None) -> Callable[[Any], Any]:
    """torch dtype -> the jax dtype that holds it here (int64 is int32 unless jax_enable_x64)."""
    import jax
    import jax.numpy as jnp
    import torch

    table = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16,
             torch.bfloat16: jnp.bfloat16, torch.int64: np.int64, torch.int32: np.int32, torch.int16: np.int16,
             torch.int8: np.int8, torch.uint8: np.uint8, torch.bool: np.bool_, torch.complex64: np.complex64}
    if float_dtype:
        table[torch.float32] = jnp.dtype(float_dtype)

    def dtype_of(dtype: Any) -> Any:
        if dtype not in table:
            raise UnsupportedOp([f"tensors of {dtype}"])
        return jax.dtypes.canonicalize_dtype(table[dtype])
    return dtype_of


def _is_getitem(target: Any) -> bool:
    import operator

    return target is operator.getitem


def _name(target: Any) -> str:
    return str(target) if hasattr(target, "overloadpacket") else getattr(target, "__name__", str(target))
