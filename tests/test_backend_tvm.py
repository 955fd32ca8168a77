"""TVM adapter: both variants are correct on a tiny matmul, and tuning records are reused from the cache."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from collections.abc import Callable
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


def test_a_deeper_database_is_picked_only_when_complete_and_covering(tmp_path: Path) -> None:
    from backends.tvm.tuning import META_FILE, deeper_budget

    key = "model-mlp-znver5-c2-t32-tvm0.27.0"
    for budget, complete in ((8, True), (64, True), (128, True), (256, False), (512, True)):
        directory = tmp_path / key.replace("-t32-", f"-t{budget}-")
        directory.mkdir()
        if complete:
            (directory / META_FILE).write_text("{}")
    (tmp_path / "model-mlp-znver4-c2-t1024-tvm0.27.0").mkdir()  # another CPU: never a candidate
    (tmp_path / (key.replace("-t32-", "-t2048-") + ".tuning")).mkdir()  # an interrupted scratch folder

    def covering(*budgets: int) -> Callable[[Path], bool]:
        return lambda directory: any(f"-t{b}-" in directory.name for b in budgets)

    assert deeper_budget(tmp_path, key, 32, covering(64, 128, 512)) == 512  # the deepest complete one
    assert deeper_budget(tmp_path, key, 32, covering(64, 128, 256)) == 128  # 256 has no ledger: interrupted
    assert deeper_budget(tmp_path, key, 32, covering(8)) is None  # never below the default budget
    assert deeper_budget(tmp_path, key, 32, covering()) is None  # a kernel would need new tuning


def prepare_tiny_model(tmp_path: Path, cache_dir: Path) -> Prepared:
    workload = get_workload("mlp")
    case = workload.case(workload.tiny_case)
    task = Task(workload, case, "tuned", workload.make_inputs(case), THREADS, workdir=tmp_path / "work",
                cache_dir=cache_dir)
    return backend.prepare(task)


@pytest.mark.usefixtures("x86_intrinsics_only")
def test_a_model_uses_a_deeper_database_that_covers_it_without_tuning(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from backends.tvm.workload_settings import trials_per_task

    monkeypatch.setenv("MLCOMPARE_TVM_TRIALS", "2")
    cache_dir = tmp_path / "cache"
    tuned = prepare_tiny_model(tmp_path, cache_dir)
    assert tuned.details["trials"] == 2 and tuned.details["tuning_tasks_tuned_now"] > 0
    default = trials_per_task(get_workload("mlp"))
    shallow = Path(tuned.details["tuning_dir"])
    # as if a tuning curve had taken this model past its default budget on this CPU
    shallow.rename(shallow.with_name(shallow.name.replace("-t2-", f"-t{2 * default}-")))

    monkeypatch.delenv("MLCOMPARE_TVM_TRIALS")
    deep = prepare_tiny_model(tmp_path, cache_dir)
    assert deep.details["trials"] == 2 * default
    assert deep.details["tuning_tasks_tuned_now"] == 0
    assert deep.details["tuned_funcs"] == tuned.details["tuned_funcs"]
    assert f"{2 * default}-trial database" in deep.details["budget_source"]
