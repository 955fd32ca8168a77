"""Misbehaving backends for the isolation tests, registered through MLCOMPARE_EXTRA_BACKENDS.

Each one fails in exactly one way a real compiler can: segfault, hang, memory exhaustion, a wrong
answer, an exception at compile or run time, an abrupt exit. A slow-but-correct one serves the
kill-and-resume test.
"""

from __future__ import annotations

import ctypes
import os
import time

import numpy as np

from backends.base import Backend, Prepared, Task


def _correct(task: Task) -> Prepared:
    return Prepared(run=lambda: task.workload.numpy_forward(task.case, *task.inputs), fetch=np.asarray)


class SegfaultBackend(Backend):
    name = "fake-segfault"
    description = "dereferences NULL while compiling"

    def prepare(self, task: Task) -> Prepared:
        ctypes.string_at(0)
        raise AssertionError("unreachable")


class HangBackend(Backend):
    name = "fake-hang"
    description = "never finishes compiling"

    def prepare(self, task: Task) -> Prepared:
        while True:
            time.sleep(1)


class MemoryHogBackend(Backend):
    name = "fake-oom"
    description = "allocates memory until stopped"

    def prepare(self, task: Task) -> Prepared:
        hoard = []
        while True:
            hoard.append(np.ones(16 * 2**20 // 8))  # 16 MiB, touched so it counts as resident
            time.sleep(0.01)


class WrongBackend(Backend):
    name = "fake-wrong"
    description = "returns the right shape with a small error in one element"

    def prepare(self, task: Task) -> Prepared:
        def run() -> np.ndarray:
            out = np.array(task.workload.numpy_forward(task.case, *task.inputs), dtype=np.float32)
            out.flat[0] += 1e-2 * float(np.max(np.abs(out)))  # a 1% error: far above any tolerance
            return out

        return Prepared(run=run, fetch=np.asarray)


class CompileErrorBackend(Backend):
    name = "fake-compile-error"
    description = "raises while compiling"

    def prepare(self, task: Task) -> Prepared:
        raise RuntimeError("lowering failed: no rule for <script>alert(1)</script>")


class RuntimeErrorBackend(Backend):
    name = "fake-runtime-error"
    description = "compiles, then raises when run"

    def prepare(self, task: Task) -> Prepared:
        def run() -> None:
            raise ValueError("kernel launch failed")

        return Prepared(run=run, fetch=np.asarray)


class ExitBackend(Backend):
    name = "fake-exit"
    description = "exits the process abruptly"

    def prepare(self, task: Task) -> Prepared:
        os._exit(3)


class SlowBackend(Backend):
    name = "fake-slow"
    description = "correct, but takes a while to compile (for kill-and-resume)"
    variants = ("a", "b", "c", "d")

    def prepare(self, task: Task) -> Prepared:
        time.sleep(1.0)
        return _correct(task)




class AffinityReportingBackend(Backend):
    name = "fake-affinity"
    description = "correct, and reports the CPUs and thread settings its process got"

    def prepare(self, task: Task) -> Prepared:
        prepared = _correct(task)
        prepared.details.update(cpus=sorted(os.sched_getaffinity(0)), omp=os.environ.get("OMP_NUM_THREADS"))
        return prepared


class UninstalledBackend(Backend):
    name = "fake-uninstalled"
    description = "needs a module nobody has"
    modules = ("mlcompare_no_such_module",)

    def prepare(self, task: Task) -> Prepared:
        raise AssertionError("never prepared: the matrix filters it out")


FAKES = {cls.name: cls for cls in (SegfaultBackend, HangBackend, MemoryHogBackend, WrongBackend, CompileErrorBackend,
                                   RuntimeErrorBackend, ExitBackend, SlowBackend, UninstalledBackend,
                                   AffinityReportingBackend)}
ENV_VALUE = ",".join(f"{name}=tests.fake_backends:{cls.__name__}" for name, cls in FAKES.items())
