"""The models suite: every backend's import path compiles and verifies the MLP, TVM's import paths share tuning
records, the graph-level study changes what it claims to change, and failures are recorded with reasons."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from backends import CellRequest, get_backend
from backends.base import Task
from models import get_workload, workload_names
from models.workload import Case
from suites.benchmark import make_record
from suites.matrix import SUITES, Cell, Selection, SelectionError, expand, resolve
from suites.runner import CellOptions, run_cell_isolated
from suites.stats import RepeatPolicy
from suites.tolerance import verify
from tests.test_backend_tvm import x86_intrinsics_only  # noqa: F401  (fixture)

ONCE = RepeatPolicy(min_runs=1, min_time_s=0.0, max_time_s=1.0, floor_runs=1)
# The models suite's: hand-written networks (the zoo has a suite of its own, tests/test_zoo.py).
MODELS = [name for name in workload_names()
          if get_workload(name).kind == "model" and get_workload(name).collection == ""]
# Every import path but MetaSchedule tuning (tested in-process below, with a tiny budget).
MLP_PATHS = [("torch-eager", "default"), ("inductor", "default"), ("xla", "default"), ("onnxruntime", "default"),
             ("iree", "onnx"), ("iree", "stablehlo"), ("tvm", "untuned"), ("tvm", "onnx-untuned")]


def run_tiny(backend: str, variant: str, workload: str, tmp_path: Path) -> dict:
    tiny = get_workload(workload).tiny_case
    options = CellOptions(threads=2, timeout_s=300, repeat_policy=ONCE, cache_dir=str(tmp_path / "cache"))
    return run_cell_isolated(Cell(backend, variant, workload, tiny), options)


@pytest.mark.parametrize(("backend", "variant"), MLP_PATHS)
def test_every_import_path_verifies_the_mlp(backend: str, variant: str, tmp_path: Path) -> None:
    result = run_tiny(backend, variant, "mlp", tmp_path)
    assert result["status"] == "ok", f"{result['status']}: {result['reason']}\n{result.get('traceback', '')}"
    assert result["verification"]["passed"]
    assert result["peak_rss_compile_mb"] > 0
    if backend in ("onnxruntime", "iree"):
        assert result["details"]["artifact_bytes"] > 0  # the .onnx file / the .vmfb


def test_the_suite_plans_every_model_with_reasons() -> None:
    planned = expand(resolve(Selection(suite="models", scope="full")))
    keys = {p.cell.key: p for p in planned}
    assert {p.cell.workload for p in planned} == set(MODELS)
    assert not any(p.cell.backend == "numpy" for p in planned)  # no NumPy definition of a network
    triton = [p for p in planned if p.cell.backend == "triton"]
    assert triton and all(p.skip_status == "unsupported" and "not applicable" in p.reason for p in triton)
    assert "tvm/onnx-tuned/mlp/b32" in keys and "iree/stablehlo/mlp/b32" in keys
    # The graph-level study runs on the models that ask for it, and only there.
    study = {p.cell.workload for p in planned if p.cell.variant in ("untuned-O1", "opt-basic")}
    assert study == {m for m in MODELS if m in get_backend("tvm").graph_study} and study
    assert SUITES["models"].timeout_s > SUITES["operators"].timeout_s
    with pytest.raises(SelectionError, match="not part of suite 'models'"):
        resolve(Selection(suite="models", backends=("numpy",)))


def test_record_has_throughput_and_parameters() -> None:
    measured = {"status": "ok", "timing": {"median_s": 0.002}}
    record = make_record("r", Cell("xla", "default", "mlp", "b32"), CellOptions(), measured, "models")
    assert record["throughput_per_s"] == pytest.approx(32 / 0.002)
    assert record["params"] == 1024 * 4096 + 4096 + 4096 * 1024 + 1024
    assert record["suite"] == "models" and record["kind"] == "model"


def test_a_missing_definition_is_unsupported_with_its_reason() -> None:
    # A workload with only a JAX definition: torch- and ONNX-based paths must be planned as unsupported.
    workload: Any = SimpleNamespace(name="jax-only", kind="model", definitions=("jax",))
    case = Case.of("one", n=1)
    assert get_backend("xla").skip(CellRequest(workload, case, "default", "cpu")) is None
    skip = get_backend("onnxruntime").skip(CellRequest(workload, case, "default", "cpu"))
    assert skip and skip.status == "unsupported" and "onnx definition" in skip.reason and "only jax" in skip.reason
    assert get_backend("iree").skip(CellRequest(workload, case, "stablehlo", "cpu")) is None
    assert get_backend("tvm").skip(CellRequest(workload, case, "onnx-tuned", "cpu"))


@pytest.mark.usefixtures("fake_backends")
def test_a_failing_backend_costs_one_recorded_cell(tmp_path: Path) -> None:
    result = run_tiny("fake-compile-error", "default", "mlp", tmp_path)
    assert result["status"] == "compile_error" and result["reason"]


def _prepare(variant: str, backend: str, workload_name: str, tmp_path: Path, cache: Path) -> dict:
    workload = get_workload(workload_name)
    case = workload.case(workload.tiny_case)
    inputs = workload.make_inputs(case)
    task = Task(workload, case, variant, inputs, 2, workdir=tmp_path / variant, cache_dir=cache)
    prepared = get_backend(backend).prepare(task)
    verdict = verify(prepared.fetch(prepared.run()), workload.reference(case, inputs), workload.reduction_length(case))
    assert verdict.passed, f"{backend}/{variant}: {verdict.detail}"
    return prepared.details


@pytest.mark.usefixtures("x86_intrinsics_only")
def test_tvm_import_paths_tune_into_one_shared_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCOMPARE_TVM_TRIALS", "4")
    monkeypatch.setenv("TVM_NUM_THREADS", "2")
    cache = tmp_path / "cache"
    first = _prepare("tuned", "tvm", "mlp", tmp_path, cache)
    assert first["tuning_tasks_tuned_now"] == first["tuning_tasks"] > 0 and first["tuning_s"] > 0
    onnx = _prepare("onnx-tuned", "tvm", "mlp", tmp_path, cache)
    assert onnx["tuning_dir"] == first["tuning_dir"]  # one database per model, whatever the import path
    assert onnx["tuned_funcs"].split("/")[0] == onnx["tuned_funcs"].split("/")[1]
    again = _prepare("tuned", "tvm", "mlp", tmp_path, cache)
    assert again["tuning_tasks_tuned_now"] == 0 and again["tuning_s"] == 0 and again["tuning_cached"]
    assert again["tuning_s_original"] == pytest.approx(first["tuning_s"])
    assert [p.name for p in cache.iterdir()] == [Path(first["tuning_dir"]).name]  # no staging leftovers


@pytest.mark.usefixtures("x86_intrinsics_only")
def test_a_larger_budget_continues_the_smaller_ones_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TVM_NUM_THREADS", "2")
    cache = tmp_path / "cache"
    monkeypatch.setenv("MLCOMPARE_TVM_TRIALS", "2")
    small = _prepare("tuned", "tvm", "mlp", tmp_path, cache)
    monkeypatch.setenv("MLCOMPARE_TVM_TRIALS", "4")
    monkeypatch.setenv("MLCOMPARE_TVM_CONTINUE_FROM", "2")
    large = _prepare("tuned", "tvm", "mlp", tmp_path, cache)
    assert large["continued_from"] == {"trials_per_task": 2, "tuning_s": pytest.approx(small["tuning_s"])}
    assert large["tuning_s_original"] == pytest.approx(small["tuning_s"] + large["tuning_s"])  # cumulative
    assert large["tuning_dir"] != small["tuning_dir"] and Path(small["tuning_dir"]).is_dir()  # the small one stays
    monkeypatch.setenv("MLCOMPARE_TVM_CONTINUE_FROM", "3")  # no such database: said, not silently tuned afresh
    monkeypatch.setenv("MLCOMPARE_TVM_TRIALS", "8")
    with pytest.raises(FileNotFoundError, match="no tuned database"):
        _prepare("tuned", "tvm", "mlp", tmp_path, cache)


def test_graph_level_study_changes_the_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = next(m for m in MODELS if m in get_backend("tvm").graph_study)
    monkeypatch.setenv("TVM_NUM_THREADS", "2")
    ort = {v: _prepare(v, "onnxruntime", model, tmp_path, tmp_path) for v in ("opt-disable", "default")}
    assert ort["opt-disable"]["ops_after"] == ort["opt-disable"]["ops_before"]
    assert ort["default"]["ops_after"] < ort["default"]["ops_before"]  # Conv+BN+ReLU fused
    tvm = {v: _prepare(v, "tvm", model, tmp_path, tmp_path) for v in ("untuned", "untuned-O1", "untuned-O2")}
    kernels = [tvm[v]["ops_after"] for v in ("untuned", "untuned-O1", "untuned-O2")]
    # O1 decomposes BatchNorm into elementwise kernels (more of them), which O2's fusion then merges into the convs.
    assert kernels[2] < min(kernels[0], kernels[1]), kernels


def test_tvm_trial_budgets_are_the_backends_per_workload_table() -> None:
    from backends.tvm.workload_settings import trials_per_task

    budgets = {name: trials_per_task(get_workload(name)) for name in workload_names()  # TVM tunes no LLM decode loop
               if get_workload(name).kind in ("operator", "model") and not name.startswith("zoo.")}
    operators = {name: 32 for name in workload_names() if get_workload(name).kind == "operator"}
    assert budgets == {**operators, "mlp": 32, "resnet18": 8, "mobilenet_v2": 8, "bert_encoder": 8, "gpt_decoder": 8}
    assert trials_per_task(SimpleNamespace(name="user_model", kind="model")) == 16  # any other network
    assert {trials_per_task(get_workload(n)) for n in workload_names() if n.startswith("zoo.")} == {8}
    assert not any(hasattr(get_workload(m), "tvm_trials_per_task") or hasattr(get_workload(m), "graph_study")
                   for m in workload_names())  # models/ carries no backend knobs


@pytest.mark.usefixtures("x86_intrinsics_only")
def test_tvm_weight_prepack_tunes_its_own_database_and_verifies(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCOMPARE_TVM_TRIALS", "2")
    monkeypatch.setenv("TVM_NUM_THREADS", "2")
    cache = tmp_path / "cache"
    packed = _prepare("tuned-prepack", "tvm", "mlp", tmp_path, cache)  # verified against the reference inside
    assert "cpu_weight_prepack" in packed["pipeline"]
    assert "-prepack-" in Path(packed["tuning_dir"]).name
    assert packed["tuned_funcs"].split("/")[0] == packed["tuned_funcs"].split("/")[1]
    assert packed["prepacked_kernels"] == 2  # both linear layers read their weight in its tuned layout
    plain = _prepare("tuned", "tvm", "mlp", tmp_path, cache)
    assert "cpu_weight_prepack" not in plain["pipeline"] and plain["tuning_dir"] != packed["tuning_dir"]
    assert "prepacked_kernels" not in plain
    assert packed["ops_after"] == plain["ops_after"]  # the folded re-layout functions are not compiled
    tvm = get_backend("tvm")
    mlp = get_workload("mlp")
    assert "tuned-prepack" in tvm.variants_for(mlp, mlp.case(mlp.tiny_case))
    zoo = next(get_workload(n) for n in workload_names() if n.startswith("zoo."))
    assert "tuned-prepack" not in tvm.variants_for(zoo, zoo.case(zoo.tiny_case))  # the zoo keeps one tuning
