"""What a workload is: one computation, its shapes (cases), and every way to express it.

A workload gives the suite everything a backend needs and nothing backend-specific:
- seeded inputs for a case: float32, or int64 indices (token ids) in their valid range,
- a NumPy definition that is dtype-generic (float64 is the reference, float32 is the NumPy baseline),
- a torch definition (the source of truth for torch.export / ONNX / torch.compile),
- a JAX definition (what XLA and IREE's StableHLO path compile),
- FLOP and byte counts and the reduction length that sets the verification tolerance.

Heavy libraries (torch, jax) are imported inside the methods that need them, so that a cell's
subprocess only imports the library its backend uses (thread knobs must be set before import).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Case:
    """One shape of a workload: a label for tables and the named integer dimensions."""

    label: str
    dims: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, label: str, **dims: int) -> Case:
        return cls(label, tuple(dims.items()))

    def __getitem__(self, name: str) -> int:
        for key, value in self.dims:
            if key == name:
                return value
        raise KeyError(f"case {self.label!r} has no dimension {name!r}")

    def as_dict(self) -> dict[str, int]:
        return dict(self.dims)


class Workload(ABC):
    """Base class of every workload. Subclasses are stateless; one instance is registered per name."""

    name: ClassVar[str]
    description: ClassVar[str]
    kind: ClassVar[str] = "operator"
    cases: ClassVar[tuple[Case, ...]]
    # Labels of the cases in the default matrix and in --quick; every case runs with --full.
    default_cases: ClassVar[tuple[str, ...]]
    quick_cases: ClassVar[tuple[str, ...]]
    # A small case, cheap enough for the correctness tests of every backend.
    tiny_case: ClassVar[str]
    # The definitions this workload has; a backend that needs another one records the cell as unsupported.
    # "onnx" and "jax" are implied by "torch" (backends export it; JAX through backends/torch_to_jax); a user's ONNX
    # file has nothing else.
    definitions: ClassVar[tuple[str, ...]] = ("numpy", "torch", "jax")
    # Which set of workloads it belongs to: "" for the hand-written ones, "zoo" for models/zoo (a suite of its own).
    collection: ClassVar[str] = ""

    # --- shapes and inputs -------------------------------------------------------------
    @abstractmethod
    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        """Shapes of the positional inputs (weights count as inputs: every backend gets the same data)."""

    @abstractmethod
    def output_shape(self, case: Case) -> Shape:
        """Shape of the single output."""

    def output_count(self, case: Case) -> int:
        """How many outputs the workload has: 1 (`output_shape`'s), or more for a model returning a tuple; then
        `reference` returns a tuple and every output is verified against its own reference output."""
        return 1

    def input_dtypes(self, case: Case) -> tuple[np.dtype, ...]:
        """Element type of each input: float32, or int64 for indices (token ids) in [0, index_limit(case))."""
        return (np.dtype(np.float32),) * len(self.input_shapes(case))

    def index_limit(self, case: Case) -> int:
        """Exclusive upper bound of the integer inputs (a vocabulary size); asked only where an input is integer."""
        raise NotImplementedError(f"workload {self.name!r} has no integer inputs")

    def make_inputs(self, case: Case, seed: int = 0) -> tuple[np.ndarray, ...]:
        """Seeded inputs: standard normal float32 (unless a workload needs another scale), uniform integer indices."""
        rng = np.random.default_rng(seed)
        return tuple(rng.integers(0, self.index_limit(case), size=shape, dtype=dtype) if is_integer(dtype)
                     else rng.standard_normal(shape, dtype=np.float32)
                     for shape, dtype in zip(self.input_shapes(case), self.input_dtypes(case), strict=True))

    # --- the computation, three ways -----------------------------------------------------
    @abstractmethod
    def numpy_forward(self, case: Case, *arrays: np.ndarray) -> np.ndarray:
        """NumPy definition, computed in the dtype of `arrays` (float64 gives the reference)."""

    @abstractmethod
    def torch_forward(self, case: Case, *tensors: Any) -> Any:
        """torch definition on torch tensors (import torch inside)."""

    @abstractmethod
    def jax_forward(self, case: Case, *arrays: Any) -> Any:
        """JAX definition on jax arrays (import jax inside)."""

    # --- counts --------------------------------------------------------------------------
    @abstractmethod
    def flops(self, case: Case) -> float:
        """Floating-point operations of one forward pass (a multiply-add counts 2)."""

    @abstractmethod
    def reduction_length(self, case: Case) -> int:
        """Longest chain of accumulated terms per output element; sets the tolerance (1 if none)."""

    def parameter_count(self, case: Case) -> int | None:
        """Trained parameters of a model (None for operators, whose weights are inputs)."""
        return None

    def bytes_moved(self, case: Case) -> float:
        """Compulsory memory traffic: every input read once and the output written once (float32)."""
        elements = sum(int(np.prod(s)) for s in self.input_shapes(case)) + int(np.prod(self.output_shape(case)))
        return 4.0 * elements

    # --- helpers -------------------------------------------------------------------------
    def case(self, label: str) -> Case:
        for case in self.cases:
            if case.label == label:
                return case
        valid = ", ".join(c.label for c in self.cases)
        raise KeyError(f"workload {self.name!r} has no case {label!r} (valid: {valid})")

    def reference(self, case: Case, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
        """The float64 reference output every backend is checked against."""
        return np.asarray(self.numpy_forward(case, *self.reference_inputs(case, inputs)))

    def reference_name(self, case: Case) -> str:
        """What computed `reference` (the record's details["reference"])."""
        return "NumPy float64"

    def record_details(self, case: Case) -> dict[str, Any]:
        """What a cell's record says about the workload beyond its name and case (a user's model: its inputs)."""
        return {}

    def self_referenced(self, backend: str, variant: str, dtype: str) -> bool:
        """Whether that cell's output is the reference itself (its verification then proves nothing)."""
        return False

    def reference_inputs(self, case: Case, inputs: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """The inputs as the reference takes them: floats upcast to float64, integers kept as they are.

        An input whose kind (integer or float) is not the declared one was cast on its way here: refused, since
        token ids turned float (or floats truncated to integers) would give a reference of another function.
        """
        arrays = tuple(np.asarray(a) for a in inputs)
        for index, (array, declared) in enumerate(zip(arrays, self.input_dtypes(case), strict=True)):
            if is_integer(array.dtype) != is_integer(declared):
                raise TypeError(f"{self.name} input {index} is {array.dtype}, declared {declared}: "
                                "integer inputs must stay integer and float inputs float")
        return tuple(a if is_integer(a.dtype) else a.astype(np.float64) for a in arrays)

    def torch_module(self, case: Case) -> Any:
        """An nn.Module whose forward is `torch_forward` for this case (what exporters and compilers take)."""
        import torch

        workload = self

        class WorkloadModule(torch.nn.Module):
            def forward(self, *tensors: Any) -> Any:
                return workload.torch_forward(case, *tensors)

        module = WorkloadModule()
        module.eval()
        return module


def is_integer(dtype: np.dtype) -> bool:
    """Integer (index) element types, which no precision or reference ever casts."""
    return np.dtype(dtype).kind in "iu"
