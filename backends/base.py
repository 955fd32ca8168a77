"""The adapter interface every backend implements (modelled on benchopt's Solver lifecycle).

Lifecycle of one cell (suites/cell.py), each step in the cell's own subprocess except the first:
1. `skip(request)`  (parent, metadata only, no heavy import) -> None, or a `Skip` saying why the cell is not run:
   "unavailable" when the backend's modules or commands are missing here, "unsupported" for anything outside its
   `Capabilities` or its own rules. The cell calls it again before `prepare`, so `prepare` never re-checks.
2. `thread_env(n)`, then `device_env(device)`, are merged into the subprocess environment before any library is
   imported.
3. `prepare(task)` exports/imports/compiles/tunes (timed as compile_s) and returns a `Prepared`; it never runs the
   workload. It raises `Unsupported` only for what shows up late (e.g. a frontend without a converter for an op).
4. warm-up: the first `Prepared.run()`, timed as first_run_s for every backend (a lazy JIT compiles in it, or a
   library searches its algorithms: adapters flag that with details["first_call_compiles"] or
   details["first_call_autotunes"]), then `Prepared.after_first_run()` adds details only known then (e.g. the
   config an autotuner picked).
5. warm runs: `Prepared.run()` runs one inference on the prepared inputs, synchronised; `Prepared.fetch(out)` copies
   the output to a host NumPy array (not timed). The first and the last outputs are verified.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from models.workload import Case, Workload

UNAVAILABLE = "unavailable"
UNSUPPORTED = "unsupported"


class Unsupported(Exception):
    """Raised by `prepare` when a backend finds out late that it cannot express a workload."""


@dataclass(frozen=True)
class CellRequest:
    """What `skip` decides on: one cell's metadata (no inputs, nothing compiled)."""

    workload: Workload
    case: Case
    variant: str
    device: str = "cpu"
    # The precision (backends.precision name).
    dtype: str = "float32"


@dataclass(frozen=True)
class Skip:
    """Why a cell is not run, and the status it is recorded with ("unavailable" or "unsupported")."""

    status: str
    reason: str


def unsupported(reason: str | None) -> Skip | None:
    """A "unsupported" Skip for a reason, None for none: adapters write `super().skip(r) or unsupported(...)`."""
    return Skip(UNSUPPORTED, reason) if reason else None


@dataclass(frozen=True)
class Setting:
    """One setting a variant changes from the library's defaults, and where the backend's own experts say so."""

    name: str  # as the user writes it, e.g. "torch._inductor.config.freezing"
    value: str
    # The document or file in the backend's own repository that recommends it (a URL or repo path).
    source: str
    effect: str  # what it changes, in one sentence


STOCK = "stock"  # what a one-line user gets: the library's defaults
EXPERT = "expert"  # the experts' fast path for inference, as their own benchmarks run it
STUDY = "study"  # a point of a study (an optimisation-level ladder, an autoscheduler), neither of the above


# Definitions a backend derives from a workload's torch one: ONNX by export (backends/onnx_export.py), JAX by the
# torch.export bridge (backends/torch_to_jax), so a torch-only model still reaches ONNX, XLA and StableHLO paths.
DERIVED_FROM_TORCH = ("onnx", "jax")


@dataclass(frozen=True)
class Capabilities:
    """What a backend can run, declared once; `Backend.skip` refuses every cell outside it."""

    devices: tuple[str, ...] = ("cpu",)
    # The precisions (backends.precision names) the adapter can run; TF32 only ever on CUDA.
    precisions: tuple[str, ...] = ("float32",)
    # The definition of a workload the backend compiles ("numpy", "torch", "jax" or "onnx"), and the variants that
    # compile another one (e.g. an ONNX import path).
    definition: str = "torch"
    variant_definitions: Mapping[str, str] = field(default_factory=dict)
    # The suites this backend takes part in (schedule-study backends only make sense in "schedules").
    suites: tuple[str, ...] = ("operators", "models", "zoo")
    # Why a device or precision outside the lists above is refused, where a generic sentence would say less.
    notes: Mapping[str, str] = field(default_factory=dict)

    def definition_for(self, variant: str) -> str:
        return self.variant_definitions.get(variant, self.definition)

    def refusal(self, backend: str, request: CellRequest) -> str | None:
        """None, or why `backend` cannot run the cell: device, definition, precision (in that order)."""
        if request.device not in self.devices:
            return self.notes.get(request.device, f"{backend} has no {request.device} target in mlcompare")
        needed = self.definition_for(request.variant)
        definitions = request.workload.definitions
        if needed not in set(definitions) | (set(DERIVED_FROM_TORCH) if "torch" in definitions else set()):
            return (f"{backend}/{request.variant} compiles a {needed} definition; {request.workload.name} has only "
                    f"{', '.join(definitions)}")
        return self.precision_refusal(backend, request.dtype, request.device)

    def precision_refusal(self, backend: str, dtype: str, device: str) -> str | None:
        if dtype not in self.precisions:
            return self.notes.get(dtype, f"{backend} runs {', '.join(self.precisions)} in mlcompare, not {dtype}")
        if dtype == "tf32" and device != "cuda":
            return "TF32 is a mode of NVIDIA tensor cores: no CPU has it"
        return None


@dataclass(frozen=True)
class Task:
    """Everything `prepare` gets: what to compile, on which inputs, with which settings."""

    workload: Workload
    case: Case
    variant: str
    inputs: tuple[np.ndarray, ...]
    threads: int
    device: str = "cpu"
    # The precision (backends.precision): float inputs are float32 arrays already rounded to it, which backends cast;
    # integer inputs (int64 token ids) keep their dtype on every path.
    dtype: str = "float32"
    # Scratch space for this cell (exported files, compiled artifacts); deleted after the cell.
    workdir: Path = Path(".")
    # Persistent cache shared by runs (tuning records); kept under results/.
    cache_dir: Path = Path(".")
    # Shared by the processes of one cell: the first writes its artifacts here, the rest load them
    # (backends/artifacts.py); deleted after the cell. None (a task made outside the runner): nothing is reused.
    artifact_dir: Path | None = None

    @property
    def request(self) -> CellRequest:
        return CellRequest(self.workload, self.case, self.variant, self.device, self.dtype)


@dataclass
class Prepared:
    """A compiled, ready-to-run workload."""

    run: Callable[[], Any]
    fetch: Callable[[Any], np.ndarray]
    # Settings actually used and costs beyond compile time (e.g. tuning_s, artifact_bytes, export_s).
    details: dict[str, Any] = field(default_factory=dict)
    # Called once after the first run: details that exist only then (e.g. the config an autotuner picked).
    after_first_run: Callable[[], dict[str, Any]] | None = None
    # Called once after the warm runs: top-level record fields measured across them (the llm suite's per-phase
    # samples, `llm`; suites/generation_check.py pools them over the cell's processes).
    after_warm_runs: Callable[[], dict[str, Any]] | None = None


class Backend(ABC):
    """Base class of a backend adapter; subclasses are small and stateless."""

    name: ClassVar[str]
    description: ClassVar[str]
    variants: ClassVar[tuple[str, ...]] = ("default",)
    capabilities: ClassVar[Capabilities] = Capabilities()
    # Python modules that must be importable, and distributions whose versions are recorded.
    modules: ClassVar[tuple[str, ...]] = ()
    packages: ClassVar[tuple[str, ...]] = ()
    # Executables that must be on PATH, each with a hint for the reason recorded when it is missing.
    commands: ClassVar[tuple[tuple[str, str], ...]] = ()
    # The library's own thread knob, as recorded in the manifest (env vars come from thread_env).
    thread_knob: ClassVar[str] = ""
    # variant -> the settings it changes from the library's defaults (recorded in each cell's details["settings"]).
    variant_settings: ClassVar[Mapping[str, tuple[Setting, ...]]] = {}
    # The variants that are the experts' fast path. Empty: the defaults already are (e.g. ORT_ENABLE_ALL).
    expert_variants: ClassVar[tuple[str, ...]] = ()
    # The variants that belong to a study (ladders, autoschedulers): neither stock nor expert.
    study_variants: ClassVar[tuple[str, ...]] = ()

    def paths_of(self, variant: str, workload: Workload, case: Case) -> tuple[str, ...]:
        """Which paths a variant is on this workload: (STUDY,), (EXPERT,), (STOCK,), or (STOCK, EXPERT) where the
        defaults are the experts' path too (no expert variant offered for the workload)."""
        if variant in self.study_variants:
            return (STUDY,)
        if variant in self.expert_variants:
            return (EXPERT,)
        offered = set(self.variants_for(workload, case)) & set(self.expert_variants)
        return (STOCK,) if offered else (STOCK, EXPERT)

    def settings_of(self, variant: str) -> list[dict[str, str]]:
        """The record's details["settings"]: what the variant changes, with sources."""
        return [vars(s).copy() for s in self.variant_settings.get(variant, ())]

    def variants_for(self, workload: Workload, case: Case) -> tuple[str, ...]:
        """The variants that apply to this workload and case (all of `variants` unless a backend narrows it)."""
        return self.variants

    def accepts_variant(self, variant: str) -> bool:
        """Whether `variant` names a variant of this backend (open-ended families, e.g. trial budgets, override it)."""
        return variant in self.variants

    @cached_property
    def missing_requirement(self) -> str | None:
        """The first missing module or command (what `skip` records as "unavailable"; `suites list` shows it)."""
        for module in self.modules:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                return f"python module {module!r} is not installed"
        for command, hint in self.commands:
            if shutil.which(command) is None:
                return f"{command!r} not found on PATH ({hint})"
        return None

    def skip(self, request: CellRequest) -> Skip | None:
        """None to run the cell, or why not. Adapters add their own rules as `super().skip(request) or ...`."""
        if self.missing_requirement:
            return Skip(UNAVAILABLE, self.missing_requirement)
        if not self.accepts_variant(request.variant):
            valid = ", ".join(self.variants)
            return Skip(UNSUPPORTED, f"unknown {self.name} variant {request.variant!r} (valid: {valid})")
        return unsupported(self.capabilities.refusal(self.name, request))

    def thread_env(self, threads: int) -> dict[str, str]:
        """Environment variables that fix the library's thread count (set before import)."""
        return {}

    def device_env(self, device: str) -> dict[str, str]:
        """Environment variables that select the device (set before import, after thread_env, so they win)."""
        return {}

    def versions(self) -> dict[str, str]:
        found = {}
        for package in self.packages:
            try:
                found[package] = importlib.metadata.version(package)
            except importlib.metadata.PackageNotFoundError:
                found[package] = "not installed"
        return found

    @abstractmethod
    def prepare(self, task: Task) -> Prepared:
        """Compile `task.workload` for `task.case` and return something that runs it (without running it)."""
