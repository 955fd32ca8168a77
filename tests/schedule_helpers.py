"""Helpers of the schedule-study tests: prepare a backend in-process on a small case and verify it."""

from __future__ import annotations

from pathlib import Path

from backends import get_backend
from backends.base import Prepared, Task
from models import get_workload
from models.workload import Case
from suites.tolerance import Verdict, verify

THREADS = 2
# Small shapes beyond the workloads' own tiny cases: tiles that split into several blocks, edges, stride 2.
MATMUL_SMALL = (Case.of("t-48x40x72", m=48, k=40, n=72),)
CONV_SMALL = (
    Case.of("t-1x3x10x64-o32-s1", n=1, c=3, h=10, w=64, o=32, kh=3, kw=3, stride=1, pad=1),
    Case.of("t-2x5x11x13-o8-s2", n=2, c=5, h=11, w=13, o=8, kh=3, kw=3, stride=2, pad=1),
)


def small_cases(workload: str) -> list[Case]:
    wl = get_workload(workload)
    extra = (*MATMUL_SMALL, wl.case("64x64x64")) if workload == "matmul" else CONV_SMALL
    return [wl.case(wl.tiny_case), *extra]


def prepare_and_verify(backend: str, variant: str, workload: str, case: Case,
                       tmp_path: Path) -> tuple[Prepared, Verdict]:
    wl = get_workload(workload)
    inputs = wl.make_inputs(case)
    task = Task(wl, case, variant, inputs, THREADS, workdir=tmp_path / "work", cache_dir=tmp_path / "cache")
    prepared = get_backend(backend).prepare(task)
    out = prepared.fetch(prepared.run())
    prepared.run()  # a second run reuses the preallocated output: it must not accumulate into it
    again = prepared.fetch(prepared.run())
    verdict = verify(out, wl.reference(case, inputs), wl.reduction_length(case))
    second = verify(again, wl.reference(case, inputs), wl.reduction_length(case))
    return prepared, verdict if not verdict.passed else second
