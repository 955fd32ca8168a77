"""Every registered workload: consistent metadata, seeded inputs, and NumPy/torch/JAX definitions that agree.

Only tiny cases are computed. The NumPy float64 reference is checked against three independent definitions
(NumPy float32, torch, JAX), so a broken definition in any one of them fails here.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import models
from models.conv_common import numpy_conv2d
from models.workload import Case, Workload
from suites.tolerance import tolerance

# Whole networks have their own tests (test_model_defs.py).
NAMES = [n for n in models.workload_names() if models.get_workload(n).kind == "operator"]


@functools.cache
def tiny(name: str) -> tuple[Workload, Case, tuple[np.ndarray, ...], np.ndarray]:
    """The workload, its tiny case, seed-0 inputs and the float64 reference (computed once per session)."""
    workload = models.get_workload(name)
    case = workload.case(workload.tiny_case)
    inputs = workload.make_inputs(case, seed=0)
    return workload, case, inputs, workload.reference(case, inputs)


def normalised_error(out: np.ndarray, ref: np.ndarray) -> float:
    """The suite's error measure: max|out - ref| / max|ref|."""
    return float(np.max(np.abs(np.asarray(out, dtype=np.float64) - ref)) / np.max(np.abs(ref)))


def assert_matches_reference(name: str, out: object) -> None:
    workload, case, _, ref = tiny(name)
    out = np.asarray(out)
    assert out.shape == workload.output_shape(case)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))
    tol = tolerance(workload.reduction_length(case), "float32")
    assert normalised_error(out, ref) <= tol


def test_registry_order_and_names() -> None:
    assert NAMES[0] == "matmul"
    assert len(set(NAMES)) == len(NAMES)
    for name in NAMES:
        assert models.get_workload(name).name == name


@pytest.mark.parametrize("name", NAMES)
def test_case_lists(name: str) -> None:
    workload = models.get_workload(name)
    labels = [case.label for case in workload.cases]
    assert len(set(labels)) == len(labels), "duplicate case labels"
    assert workload.description
    assert workload.default_cases and workload.quick_cases
    for label in (*workload.default_cases, *workload.quick_cases, workload.tiny_case):
        assert label in labels, f"{label!r} is not a case of {name}"
    assert workload.tiny_case not in workload.default_cases


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_counts_of_every_case(name: str) -> None:
    workload = models.get_workload(name)
    for case in workload.cases:
        shapes = (*workload.input_shapes(case), workload.output_shape(case))
        assert all(isinstance(d, int) and d > 0 for shape in shapes for d in shape), (case.label, shapes)
        assert workload.flops(case) > 0
        assert workload.bytes_moved(case) > 0
        length = workload.reduction_length(case)
        assert isinstance(length, int) and length >= 1


@pytest.mark.parametrize("name", NAMES)
def test_make_inputs_is_seeded(name: str) -> None:
    workload, case, inputs, _ = tiny(name)
    assert tuple(a.shape for a in inputs) == workload.input_shapes(case)
    assert all(a.dtype == np.float32 and np.all(np.isfinite(a)) for a in inputs)
    again = workload.make_inputs(case, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(inputs, again, strict=True))
    other = workload.make_inputs(case, seed=1)
    assert all(not np.array_equal(a, b) for a, b in zip(inputs, other, strict=True))


@pytest.mark.parametrize("name", NAMES)
def test_reference_is_float64_and_nontrivial(name: str) -> None:
    workload, case, _, ref = tiny(name)
    assert ref.dtype == np.float64
    assert ref.shape == workload.output_shape(case)
    assert np.all(np.isfinite(ref))
    assert np.ptp(ref) > 0, "a constant output cannot tell a right definition from a wrong one"


@pytest.mark.parametrize("name", NAMES)
def test_numpy_float32_matches_reference(name: str) -> None:
    workload, case, inputs, _ = tiny(name)
    assert_matches_reference(name, workload.numpy_forward(case, *inputs))


@pytest.mark.parametrize("name", NAMES)
def test_torch_matches_reference(name: str) -> None:
    torch = pytest.importorskip("torch")
    workload, case, inputs, _ = tiny(name)
    out = workload.torch_forward(case, *(torch.from_numpy(a) for a in inputs))
    assert_matches_reference(name, out.numpy())


@pytest.mark.parametrize("name", NAMES)
def test_jax_jit_matches_reference(name: str) -> None:
    jax = pytest.importorskip("jax")
    workload, case, inputs, _ = tiny(name)
    # Under jit, as the XLA backend runs it: this also rejects Python control flow on array values.
    out = jax.jit(lambda *xs: workload.jax_forward(case, *xs))(*inputs)
    assert_matches_reference(name, np.asarray(out))


@pytest.mark.parametrize("name", NAMES)
def test_torch_export(name: str) -> None:
    torch = pytest.importorskip("torch")
    workload, case, inputs, _ = tiny(name)
    tensors = tuple(torch.from_numpy(a) for a in inputs)
    exported = torch.export.export(workload.torch_module(case), tensors)
    assert_matches_reference(name, exported.module()(*tensors).numpy())


@pytest.mark.parametrize(
    ("stride", "pad", "groups", "kernel"),
    [(1, 0, 1, 3), (2, 1, 1, 3), (3, 2, 1, 5), (1, 0, 1, 1), (2, 1, 2, 3), (1, 1, 6, 3), (2, 0, 6, 2)],
)
def test_numpy_conv2d_matches_torch(stride: int, pad: int, groups: int, kernel: int) -> None:
    """The shared NumPy convolution against torch in float64, beyond the 3x3 stride-1/2 shapes of the cases."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 11, 8))
    w = rng.standard_normal((12, 6 // groups, kernel, kernel))
    out = numpy_conv2d(x, w, stride, pad, groups)
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=stride, padding=pad,
                                          groups=groups).numpy()
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
