"""Expand the cartesian matrix (backend x variant x workload x case), then filter it with an explicit
availability check that leaves a reason behind (the pytorch/xla benchmarks pattern)."""

from __future__ import annotations

from dataclasses import dataclass

from backends import backend_names, get_backend
from models import get_workload, workload_names

SCOPES = ("quick", "default", "full")
# suite -> workload kind; issue-by-issue more suites appear here.
SUITE_KINDS = {"operators": "operator"}


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

    def to_json(self) -> dict[str, object]:
        return {"suite": self.suite, "backends": list(self.backends), "workloads": list(self.workloads),
                "scope": self.scope, "device": self.device}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Selection:
        return cls(suite=str(data["suite"]), backends=tuple(data["backends"]),  # type: ignore[arg-type]
                   workloads=tuple(data["workloads"]), scope=str(data["scope"]),  # type: ignore[arg-type]
                   device=str(data["device"]))


def _check_names(kind: str, asked: tuple[str, ...], valid: list[str]) -> tuple[str, ...]:
    unknown = [name for name in asked if name not in valid]
    if unknown:
        raise SelectionError(f"unknown {kind} {', '.join(map(repr, unknown))} (valid: {', '.join(valid)})")
    return asked or tuple(valid)


def resolve(selection: Selection) -> Selection:
    """Fill empty filters with everything and reject unknown names (before anything is written)."""
    if selection.suite not in SUITE_KINDS:
        raise SelectionError(f"unknown suite {selection.suite!r} (valid: {', '.join(SUITE_KINDS)})")
    if selection.scope not in SCOPES:
        raise SelectionError(f"unknown scope {selection.scope!r} (valid: {', '.join(SCOPES)})")
    kind = SUITE_KINDS[selection.suite]
    suite_workloads = [w for w in workload_names() if get_workload(w).kind == kind]
    return Selection(
        suite=selection.suite,
        backends=_check_names("backend", selection.backends, backend_names()),
        workloads=_check_names("workload", selection.workloads, suite_workloads),
        scope=selection.scope,
        device=selection.device,
    )


def case_labels(workload_name: str, scope: str) -> tuple[str, ...]:
    workload = get_workload(workload_name)
    if scope == "quick":
        return workload.quick_cases
    if scope == "default":
        return workload.default_cases
    return tuple(c.label for c in workload.cases if c.label != workload.tiny_case)


def expand(selection: Selection) -> list[PlannedCell]:
    """Every cell of a resolved selection, in a stable order, each with its skip status if any."""
    backends = {name: get_backend(name) for name in selection.backends}
    unavailable_reasons = {name: backend.unavailable_reason() for name, backend in backends.items()}
    planned: list[PlannedCell] = []
    for workload_name in selection.workloads:
        workload = get_workload(workload_name)
        for label in case_labels(workload_name, selection.scope):
            case = workload.case(label)
            for backend_name, backend in backends.items():
                unavailable = unavailable_reasons[backend_name]
                for variant in backend.variants:
                    cell = Cell(backend_name, variant, workload_name, label)
                    if unavailable:
                        planned.append(PlannedCell(cell, "unavailable", unavailable))
                        continue
                    unsupported = backend.unsupported_reason(workload, case, variant, selection.device)
                    planned.append(PlannedCell(cell, "unsupported", unsupported) if unsupported else PlannedCell(cell))
    return planned
