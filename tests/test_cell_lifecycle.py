"""The cell's lifecycle (suites/cell.py): skip, prepare, a warm-up timed as first_run_s for every backend, verification
of the first and the last warm run, and interrupts that propagate instead of being recorded as a backend's failure.

Cells run in this process (run_cell), with backends defined here and registered through MLCOMPARE_EXTRA_BACKENDS.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backends.base import Backend, Prepared, Task
from suites.cell import run_cell
from suites.stats import RepeatPolicy

SLOW_FIRST_CALL_S = 0.3


def _forward(task: Task) -> Any:
    return lambda: task.workload.numpy_forward(task.case, *task.inputs)


class SlowFirstCallBackend(Backend):
    """Compiles lazily, like torch.compile: the first call is slow, and says what it picked afterwards."""

    name = "fake-lazy"
    description = "slow first call"

    def prepare(self, task: Task) -> Prepared:
        forward, calls = _forward(task), []

        def run() -> Any:
            calls.append(1)
            if len(calls) == 1:
                time.sleep(SLOW_FIRST_CALL_S)
            return forward()

        return Prepared(run=run, fetch=np.asarray, details={"first_call_compiles": True},
                        after_first_run=lambda: {"picked": f"after {len(calls)} call(s)"})


class DriftingBackend(Backend):
    """Right on the first call, then accumulates into its output: only the last warm run shows it."""

    name = "fake-drift"
    description = "accumulates across runs"

    def prepare(self, task: Task) -> Prepared:
        out = np.zeros(task.workload.output_shape(task.case), dtype=np.float32)
        forward = _forward(task)

        def run() -> np.ndarray:
            out[...] += forward()  # forgets to reset `out`
            return out

        return Prepared(run=run, fetch=lambda o: o.copy())


class InterruptedBackend(Backend):
    """Raises KeyboardInterrupt or SystemExit in the phase its variant names."""

    name = "fake-interrupt"
    description = "interrupted"
    variants = ("prepare-ctrl-c", "first-run-ctrl-c", "warm-run-ctrl-c", "prepare-exit")

    def prepare(self, task: Task) -> Prepared:
        if task.variant == "prepare-ctrl-c":
            raise KeyboardInterrupt
        if task.variant == "prepare-exit":
            raise SystemExit(1)
        forward, calls = _forward(task), []

        def run() -> Any:
            calls.append(1)
            if (task.variant == "first-run-ctrl-c") or len(calls) > 1:
                raise KeyboardInterrupt
            return forward()

        return Prepared(run=run, fetch=np.asarray)


FAKES = (SlowFirstCallBackend, DriftingBackend, InterruptedBackend)


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCOMPARE_EXTRA_BACKENDS", ",".join(f"{c.name}=tests.test_cell_lifecycle:{c.__name__}"
                                                            for c in FAKES))


def cell(backend: str, tmp_path: Path, variant: str = "default", workload: str = "matmul",
         case: str = "tiny-8x16x12") -> dict[str, Any]:
    spec = {"backend": backend, "variant": variant, "workload": workload, "case": case, "seed": 0, "threads": 1,
            "device": "cpu", "dtype": "float32", "workdir": str(tmp_path / "work"), "cache_dir": str(tmp_path),
            "repeat_policy": asdict(RepeatPolicy(min_runs=3, min_time_s=0.0, max_time_s=1.0))}
    return run_cell(spec, tmp_path / "cell.phase")


def test_first_run_is_the_first_call_and_its_details_are_kept(tmp_path: Path) -> None:
    result = cell("fake-lazy", tmp_path)
    assert result["status"] == "ok", result
    assert result["first_run_s"] >= SLOW_FIRST_CALL_S > result["compile_s"]
    assert result["timing"]["max_s"] < SLOW_FIRST_CALL_S  # the warm runs never include it
    assert result["details"] == {"first_call_compiles": True, "picked": "after 1 call(s)",
                                 "paths": ["stock", "expert"], "settings": [], "reference": "NumPy float64"}


def test_the_last_warm_run_is_verified_too(tmp_path: Path) -> None:
    result = cell("fake-drift", tmp_path)
    assert result["status"] == "wrong_result" and result["reason"].startswith("last warm run:"), result
    check = result["verification"]
    assert check["passed"] is False and check["first_run_error"] < check["tolerance"] < check["last_run_error"]
    assert "timing" not in result


def test_numpy_verifies_first_and_last_run(tmp_path: Path) -> None:
    result = cell("numpy", tmp_path)
    assert result["status"] == "ok" and result["verification"]["passed"]
    assert result["verification"]["last_run_error"] <= result["verification"]["tolerance"]


@pytest.mark.parametrize(("variant", "interrupt"), [("prepare-ctrl-c", KeyboardInterrupt),
                                                    ("first-run-ctrl-c", KeyboardInterrupt),
                                                    ("warm-run-ctrl-c", KeyboardInterrupt),
                                                    ("prepare-exit", SystemExit)])
def test_interrupts_propagate_instead_of_being_recorded(variant: str, interrupt: type, tmp_path: Path) -> None:
    with pytest.raises(interrupt):
        cell("fake-interrupt", tmp_path, variant=variant)


def test_a_refused_cell_is_never_prepared(tmp_path: Path) -> None:
    result = cell("numpy", tmp_path, workload="mlp", case="tiny-b2")  # no NumPy definition of a network
    assert result == {"status": "unsupported", "reason": result["reason"]} and "numpy definition" in result["reason"]


@pytest.mark.parametrize(("module", "backend", "workload", "device"), [
    ("backends.inductor", "InductorBackend", "matmul", "cpu"),
    ("backends.triton_kernels", "TritonBackend", "matmul", "cuda"),
    ("backends.cuda_libs", "CublasBackend", "conv2d", "cuda"),
])
def test_prepare_never_runs_the_workload(module: str, backend: str, workload: str, device: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapters that used to call run() in prepare (so that first_run_s was their second call) no longer do."""
    pytest.importorskip("torch")
    import importlib

    from models import get_workload

    adapter = importlib.import_module(module)
    calls: list[int] = []

    def counting_prepared(task: Task, fn: Any, details: dict[str, Any]) -> Prepared:
        return Prepared(run=lambda: calls.append(1), fetch=np.asarray, details=details)

    monkeypatch.setattr(adapter, "torch_prepared", counting_prepared)
    monkeypatch.setattr(adapter, "torch_module", lambda task: task.workload.torch_module(task.case), raising=False)
    w = get_workload(workload)
    case = w.case(w.tiny_case)
    prepared = getattr(adapter, backend)().prepare(Task(w, case, "default", w.make_inputs(case), 1, device=device))
    assert calls == []
    assert prepared.details.get("first_call_compiles") or prepared.details.get("first_call_autotunes")
