"""The adapter interface every backend implements (modelled on benchopt's Solver lifecycle).

Lifecycle of one cell, each step in the cell's own subprocess except the first two:
1. `unavailable_reason()`   (parent, cheap: no heavy import) -> None or why the backend cannot run here.
2. `unsupported_reason(...)` (parent, metadata only)         -> None or why this workload/case/variant is skipped.
3. `thread_env(n)`, then `device_env(device)`, are merged into the subprocess environment before any library is
   imported.
4. `prepare(task)` exports/imports/compiles/tunes (timed as compile time) and returns a `Prepared`.
5. `Prepared.run()` runs one inference on the prepared inputs, synchronised; `Prepared.fetch(out)` copies
   the output to a host NumPy array (not timed).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from models.base import Case, Workload


class Unsupported(Exception):
    """Raised by `prepare` when a backend finds out late that it cannot express a workload."""


@dataclass(frozen=True)
class Task:
    """Everything `prepare` gets: what to compile, on which inputs, with which settings."""

    workload: Workload
    case: Case
    variant: str
    inputs: tuple[np.ndarray, ...]
    threads: int
    device: str = "cpu"
    # The precision (backends.precision): inputs are float32 arrays already rounded to it; backends cast them.
    dtype: str = "float32"
    # Scratch space for this cell (exported files, compiled artifacts); deleted after the cell.
    workdir: Path = Path(".")
    # Persistent cache shared by runs (tuning records); kept under results/.
    cache_dir: Path = Path(".")


@dataclass
class Prepared:
    """A compiled, ready-to-run workload."""

    run: Callable[[], Any]
    fetch: Callable[[Any], np.ndarray]
    # Settings actually used and costs beyond compile time (e.g. tuning_s, artifact_bytes, export_s).
    details: dict[str, Any] = field(default_factory=dict)


class Backend(ABC):
    """Base class of a backend adapter; subclasses are small and stateless."""

    name: ClassVar[str]
    description: ClassVar[str]
    variants: ClassVar[tuple[str, ...]] = ("default",)
    # Python modules that must be importable, and distributions whose versions are recorded.
    modules: ClassVar[tuple[str, ...]] = ()
    packages: ClassVar[tuple[str, ...]] = ()
    # The library's own thread knob, as recorded in the manifest (env vars come from thread_env).
    thread_knob: ClassVar[str] = ""
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    # The precisions (backends.precision names) the adapter can run; TF32 only ever on CUDA.
    precisions: ClassVar[tuple[str, ...]] = ("float32",)
    # The suites this backend takes part in (schedule-study backends only make sense in "schedules").
    suites: ClassVar[tuple[str, ...]] = ("operators", "models")

    # Which definition of a workload the backend compiles ("numpy", "torch", "jax" or "onnx").
    definition: ClassVar[str] = "torch"

    def definition_for(self, variant: str) -> str:
        """The definition a variant compiles (backends with several import paths override this)."""
        return self.definition

    def variants_for(self, workload: Workload, case: Case) -> tuple[str, ...]:
        """The variants that apply to this workload and case (all of `variants` unless a backend narrows it)."""
        return self.variants

    def unavailable_reason(self) -> str | None:
        for module in self.modules:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                return f"python module {module!r} is not installed"
        return None

    def unsupported_reason(self, workload: Workload, case: Case, variant: str, device: str) -> str | None:
        if device not in self.devices:
            return f"{self.name} has no {device} target in mlcompare"
        needed = self.definition_for(variant)
        have = set(workload.definitions) | ({"onnx"} if "torch" in workload.definitions else set())
        if needed not in have:
            return (f"{self.name}/{variant} compiles a {needed} definition; {workload.name} has only "
                    f"{', '.join(workload.definitions)}")
        return None

    def precision_reason(self, precision: str, device: str) -> str | None:
        """None, or why this backend does not run `precision` on `device` (parent, metadata only)."""
        if precision not in self.precisions:
            return f"{self.name} runs {', '.join(self.precisions)} in mlcompare, not {precision}"
        if precision == "tf32" and device != "cuda":
            return "TF32 is a mode of NVIDIA tensor cores: no CPU has it"
        return None

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
        """Compile `task.workload` for `task.case` and return something that runs it."""
