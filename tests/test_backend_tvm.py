"""TVM adapter: both variants are correct on a tiny matmul, and tuning records are reused from the cache."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

import pytest

from backends import get_backend
from backends.base import Prepared, Task
from models import get_workload
from suites.tolerance import Verdict, verify

backend = get_backend("tvm")
pytestmark = pytest.mark.skipif(backend.missing_requirement is not None, reason=str(backend.missing_requirement))

THREADS = 2


def prepare_tiny(variant: str, tmp_path: Path, cache_dir: Path) -> tuple[Prepared, Verdict]:
    workload = get_workload("matmul")
    case = workload.case(workload.tiny_case)
    inputs = workload.make_inputs(case)
    task = Task(workload, case, variant, inputs, THREADS, workdir=tmp_path / "work", cache_dir=cache_dir)
    prepared = backend.prepare(task)
    out = prepared.fetch(prepared.run())
    return prepared, verify(out, workload.reference(case, inputs), workload.reduction_length(case))


@pytest.fixture(autouse=True)
def tvm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in backend.thread_env(THREADS).items():
        monkeypatch.setenv(key, value)


def test_untuned_matches_reference(tmp_path: Path) -> None:
    prepared, verdict = prepare_tiny("untuned", tmp_path, tmp_path / "cache")
    assert verdict.passed, verdict.detail
    assert prepared.details["pipeline"] == "default"
    assert prepared.details["export_s"] > 0


@pytest.fixture
def x86_intrinsics_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register only the x86 tensor intrinsics before tuning.

    MetaSchedule imports the whole `tvm.s_tir.tensor_intrin` package, which parses every CUDA/ROCm/Hexagon
    intrinsic: 25-95 s on the shared 2-core machine, more than the rest of this test. An llvm target needs
    only the x86 ones, so a stub package that loads just those keeps the test short (the adapter is unchanged).
    """
    name = "tvm.s_tir.tensor_intrin"
    if name not in sys.modules:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.submodule_search_locations is not None
        stub = types.ModuleType(name)
        stub.__path__ = list(spec.submodule_search_locations)
        monkeypatch.setitem(sys.modules, name, stub)
        importlib.import_module(f"{name}.x86")


@pytest.mark.usefixtures("x86_intrinsics_only")
def test_tuned_matches_reference_and_reuses_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCOMPARE_TVM_TRIALS", "4")
    cache_dir = tmp_path / "cache"

    first, verdict = prepare_tiny("tuned", tmp_path, cache_dir)
    assert verdict.passed, verdict.detail
    assert first.details["trials"] == 4
    assert first.details["tuning_cached"] is False
    assert first.details["tuning_s"] > 0
    assert first.details["tuned_funcs"] == "1/1"

    second, verdict = prepare_tiny("tuned", tmp_path, cache_dir)
    assert verdict.passed, verdict.detail
    assert second.details["tuning_cached"] is True
    assert second.details["tuning_s"] == 0
    assert second.details["tuning_s_original"] == pytest.approx(first.details["tuning_s"])
    assert second.details["tuning_dir"] == first.details["tuning_dir"]
    assert second.details["tuned_funcs"] == "1/1"

    # A tuning killed before its metadata was written must not count as done: wiped and retuned.
    (Path(first.details["tuning_dir"]) / "mlcompare_tuning.json").unlink()
    third, verdict = prepare_tiny("tuned", tmp_path, cache_dir)
    assert verdict.passed, verdict.detail
    assert third.details["tuning_cached"] is False
    assert third.details["tuning_s"] > 0
