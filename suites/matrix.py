"""Expand the cartesian matrix (backend x variant x workload x case), then filter it with each backend's `skip`,
which leaves a status and a reason behind (the pytorch/xla benchmarks pattern)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backends import CellRequest, backend_names, get_backend
from backends.precision import PRECISIONS
from models import get_workload, workload_names
from models.user_inputs import InputOptions
from models.user_model import UserModelError, activate_user_model

SCOPES = ("quick", "default", "full")


@dataclass(frozen=True)
class Suite:
    """A named slice of the matrix: which kind of workload, and (optionally) exactly which cases."""

    name: str
    kind: str
    description: str
    # workload -> case labels, for suites that fix their own cases (every scope but quick, which takes the first).
    cases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Default per-cell limit, compile and tuning included.
    timeout_s: float = 900.0
    # Which set of workloads of that kind (models.workload.Workload.collection): "" hand-written, "zoo".
    collection: str = ""

    def fixed_cases(self, workload: str) -> tuple[str, ...] | None:
        return dict(self.cases).get(workload) if self.cases else None


SQUARE_MATMULS = tuple(f"{n}x{n}x{n}" for n in (512, 64, 128, 256, 1024, 2048))
SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        Suite("operators", "operator", "operator kernels on every backend"),
        # Tuning a whole network (ResNet-18: ~20 kernels) takes far longer than one operator.
        Suite("models", "model", "whole networks through each backend's own import path", timeout_s=5400.0),
        # Architectures from torchvision and transformers as their libraries define them, batch 1 (models/zoo).
        Suite("zoo", "model", "torchvision and Hugging Face transformers models from their own definitions",
              timeout_s=5400.0, collection="zoo"),
        Suite("schedules", "operator", "hand schedules, autoschedulers and baselines on matmul and conv2d",
              cases=(("matmul", SQUARE_MATMULS), ("conv2d", ("1x3x224x224-o64-s1", "1x64x56x56-o64-s1")))),
        # A scenario of its own: prefill + greedy decode with a KV cache, each backend's own decode path.
        Suite("llm", "llm", "LLM inference: prefill and greedy decode with a KV cache (docs/llm.md)",
              timeout_s=3600.0),
    )
}


class SelectionError(ValueError):
    """A user asked for something that does not exist; the message lists the valid names."""


@dataclass(frozen=True)
class Cell:
    backend: str
    variant: str
    workload: str
    case: str

    @property
    def key(self) -> str:
        return f"{self.backend}/{self.variant}/{self.workload}/{self.case}"


@dataclass(frozen=True)
class PlannedCell:
    cell: Cell
    # None: run it. Otherwise the status it is recorded with ("unavailable" / "unsupported") and why.
    skip_status: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Selection:
    suite: str = "operators"
    backends: tuple[str, ...] = ()
    workloads: tuple[str, ...] = ()
    scope: str = "default"
    device: str = "cpu"
    # A user's own model ("onnx:PATH" or "torch:package.module:function"), run as the workload "user_model".
    user_model: str = ""
    # Its input flags (models/user_inputs.InputOptions as JSON; empty: none given).
    user_inputs: str = ""
    # The precision every cell runs in (backends.precision).
    dtype: str = "float32"
    # Only these case labels of the selected workloads (empty: the scope's cases).
    cases: tuple[str, ...] = ()
    # "backend/variant" entries: a backend named here runs only its listed variants, the others all of theirs.
    variants: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"suite": self.suite, "backends": list(self.backends), "workloads": list(self.workloads),
                "scope": self.scope, "device": self.device, "user_model": self.user_model,
                "user_inputs": self.user_inputs, "dtype": self.dtype,
                "cases": list(self.cases), "variants": list(self.variants)}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Selection:
        return cls(suite=str(data["suite"]), backends=tuple(data["backends"]),  # type: ignore[arg-type]
                   workloads=tuple(data["workloads"]), scope=str(data["scope"]),  # type: ignore[arg-type]
                   device=str(data["device"]), user_model=str(data.get("user_model", "")),
                   user_inputs=str(data.get("user_inputs", "")),
                   dtype=str(data.get("dtype", "float32")),
                   cases=tuple(data.get("cases", ())),  # type: ignore[arg-type]
                   variants=tuple(data.get("variants", ())))  # type: ignore[arg-type]

    def keeps(self, backend: str, variant: str) -> bool:
        """Whether --variants lets this backend's variant run (a backend it does not name keeps every variant)."""
        named = [v.split("/", 1)[1] for v in self.variants if v.split("/", 1)[0] == backend]
        return not named or variant in named


def _check_names(kind: str, asked: tuple[str, ...], valid: list[str]) -> tuple[str, ...]:
    unknown = [name for name in asked if name not in valid]
    if unknown:
        raise SelectionError(f"unknown {kind} {', '.join(map(repr, unknown))} (valid: {', '.join(valid)})")
    return asked or tuple(valid)


def resolve(selection: Selection, cache_dir: Path | None = None) -> Selection:
    """Fill empty filters with everything and reject unknown names (before anything is written but a user's ONNX
    file made static, into `cache_dir`, once every check passed)."""
    if selection.suite not in SUITES:
        raise SelectionError(f"unknown suite {selection.suite!r} (valid: {', '.join(SUITES)})")
    if selection.scope not in SCOPES:
        raise SelectionError(f"unknown scope {selection.scope!r} (valid: {', '.join(SCOPES)})")
    if selection.dtype not in PRECISIONS:
        raise SelectionError(f"unknown precision {selection.dtype!r} (valid: {', '.join(PRECISIONS)})")
    suite = SUITES[selection.suite]
    workloads = selection.workloads
    if selection.user_model:
        if suite.name != "models":
            raise SelectionError(f"a user's model runs in the models suite, not {suite.name!r}")
        try:
            activate_user_model(selection.user_model, InputOptions.from_json(selection.user_inputs), cache_dir)
        except UserModelError as exc:
            raise SelectionError(str(exc)) from None
        workloads = workloads or ("user_model",)
    suite_workloads = [w for w in workload_names() if get_workload(w).kind == suite.kind
                       and get_workload(w).collection == suite.collection
                       and (not suite.cases or suite.fixed_cases(w) is not None)]
    suite_backends = [b for b in backend_names() if suite.name in get_backend(b).capabilities.suites]
    others = [b for b in selection.backends if b in backend_names() and b not in suite_backends]
    if others:
        raise SelectionError(f"backend {', '.join(map(repr, others))} is not part of suite {suite.name!r} "
                             f"(its backends: {', '.join(suite_backends)})")
    resolved = Selection(
        suite=selection.suite,
        backends=_check_names("backend", selection.backends, suite_backends),
        workloads=_check_names("workload", workloads, suite_workloads),
        scope=selection.scope,
        device=selection.device,
        user_model=selection.user_model,
        user_inputs=selection.user_inputs,
        dtype=selection.dtype,
        cases=selection.cases,
        variants=selection.variants,
    )
    _check_variants(resolved)
    if selection.cases:
        offered = sorted({label for w in resolved.workloads
                          for label in case_labels(w, "full" if not suite.cases else resolved.scope, suite.name)})
        _check_names("case", selection.cases, offered)
    return resolved


def _check_variants(selection: Selection) -> None:
    for entry in selection.variants:
        backend, _, variant = entry.partition("/")
        if backend not in selection.backends:
            raise SelectionError(f"--variants {entry!r}: backend {backend!r} is not selected "
                                 f"(selected: {', '.join(selection.backends)})")
        valid = get_backend(backend).variants
        if variant not in valid:
            raise SelectionError(f"--variants {entry!r}: {backend} has no variant {variant!r} "
                                 f"(valid: {', '.join(valid)})")


def case_labels(workload_name: str, scope: str, suite: str = "operators") -> tuple[str, ...]:
    workload = get_workload(workload_name)
    fixed = SUITES[suite].fixed_cases(workload_name)
    if fixed is not None:
        return fixed[:1] if scope == "quick" else fixed
    if scope == "quick":
        return workload.quick_cases
    if scope == "default":
        return workload.default_cases
    return tuple(c.label for c in workload.cases if c.label != workload.tiny_case)


def expand(selection: Selection) -> list[PlannedCell]:
    """Every cell of a resolved selection, in a stable order, each with its skip status if any."""
    backends = {name: get_backend(name) for name in selection.backends}
    planned: list[PlannedCell] = []
    for workload_name in selection.workloads:
        workload = get_workload(workload_name)
        labels = case_labels(workload_name, "full" if selection.cases else selection.scope, selection.suite)
        for label in (x for x in labels if not selection.cases or x in selection.cases):
            case = workload.case(label)
            for backend_name, backend in backends.items():
                for variant in (v for v in backend.variants_for(workload, case) if selection.keeps(backend_name, v)):
                    cell = Cell(backend_name, variant, workload_name, label)
                    skip = backend.skip(CellRequest(workload, case, variant, selection.device, selection.dtype))
                    planned.append(PlannedCell(cell, skip.status, skip.reason) if skip else PlannedCell(cell))
    return planned
