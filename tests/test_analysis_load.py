"""Loading committed runs into pandas: valid records kept, malformed lines reported, nothing else lost."""

from __future__ import annotations

import json
from pathlib import Path

from analysis.load import load_results
from suites.machine import REPO_ROOT
from suites.results import SCHEMA_VERSION, append_record, write_json_atomic


def make_record(backend: str, status: str, median_s: float | None = None) -> dict:
    record = {"schema": SCHEMA_VERSION, "run_id": "r1", "cell": f"{backend}/default/matmul/8", "backend": backend,
              "variant": "default", "workload": "matmul", "case": "8", "device": "cpu", "dtype": "float32",
              "threads": 2, "status": status, "reason": "" if status == "ok" else "no"}
    if median_s is not None:
        record["timing"] = {"median_s": median_s, "n": 5, "ci95_median_s": [median_s * 0.9, median_s * 1.1]}
    return record


def test_malformed_lines_are_reported_and_the_rest_kept(tmp_path: Path) -> None:
    run = tmp_path / "box"
    write_json_atomic(run / "r1.manifest.json", {"run_id": "r1"})
    append_record(run / "r1.jsonl", make_record("numpy", "ok", 0.5))
    with open(run / "r1.jsonl", "a") as f:
        f.write("{not json\n")
        f.write(json.dumps({**make_record("tvm", "ok", 1.0), "schema": 99}) + "\n")
        f.write(json.dumps(make_record("xla", "bogus_status")) + "\n")
    append_record(run / "r1.jsonl", make_record("iree", "crash"))
    loaded = load_results(tmp_path)
    assert sorted(loaded.records["backend"]) == ["iree", "numpy"]
    assert len(loaded.problems) == 3
    assert any("schema version 99" in p for p in loaded.problems)
    numpy_row = loaded.records.set_index("backend").loc["numpy"]
    assert numpy_row["median_s"] == 0.5 and numpy_row["ci95_low_s"] == 0.45 and numpy_row["machine"] == "box"


def test_committed_results_load_cleanly() -> None:
    from analysis.load import committed_files
    allowed = committed_files(REPO_ROOT / "results")  # not runs in flight
    machines = sorted({p.parent.name for p in allowed if p.name.endswith(".manifest.json")
                       and p.parent.parent == REPO_ROOT / "results"})
    for machine in machines:  # one CPU generation at a time: they are never pooled
        loaded = load_results(REPO_ROOT / "results", allowed=allowed, machine=machine)
        assert not loaded.problems
        assert len(loaded.records) and set(loaded.records["run_id"]) <= set(loaded.manifests)


def test_analysis_checks_skip_unusable_records_and_keep_the_rest(tmp_path: Path) -> None:
    from tests.synthetic_runs import ok, write_run
    good = ok("numpy", "default", "mm", "a", 1e-3)
    nan_median = ok("tvm", "default", "mm", "a", 1e-3)
    nan_median["timing"]["median_s"] = -1.0
    wrong_cell = {**ok("xla", "default", "mm", "a", 1e-3), "cell": "xla/default/mm/b"}
    bad_samples = ok("iree", "onnx", "mm", "a", 1e-3)
    bad_samples["timing"]["samples_s"] = [1e-3, -5.0]
    bad_flops = {**ok("inductor", "default", "mm", "a", 1e-3), "flops": "lots"}
    write_run(tmp_path, "box", "r1", [good, nan_median, wrong_cell, bad_samples, bad_flops])
    loaded = load_results(tmp_path)
    assert list(loaded.records["backend"]) == ["numpy"]
    assert len(loaded.problems) == 4
    joined = "\n".join(loaded.problems)
    for why in ("median_s is not a positive number", "does not match its coordinates", "samples_s",
                "'flops' is not a finite number"):
        assert why in joined


def test_a_cell_written_twice_keeps_the_last_line(tmp_path: Path) -> None:
    from tests.synthetic_runs import ok, write_run
    write_run(tmp_path, "box", "r1", [ok("numpy", "default", "mm", "a", 1e-3), ok("numpy", "default", "mm", "a", 2e-3)])
    loaded = load_results(tmp_path)
    assert list(loaded.records["median_s"]) == [2e-3] and "recorded twice" in loaded.problems[0]


def test_old_records_get_their_suite_from_their_kind(tmp_path: Path) -> None:
    from tests.synthetic_runs import ok, write_run
    old_op, old_model = ok("numpy", "default", "mm", "a", 1e-3), ok("numpy", "default", "mlp", "b1", 1e-3)
    del old_op["suite"], old_model["suite"]
    old_model["kind"] = "model"
    write_run(tmp_path, "box", "r1", [old_op, old_model, ok("tvm-te", "naive", "mm", "a", 1e-3, suite="schedules")])
    assert sorted(load_results(tmp_path).records["suite"]) == ["models", "operators", "schedules"]


def test_tuning_curves_load_and_bad_lines_are_reported(tmp_path: Path) -> None:
    from tests.synthetic_runs import write_tuning
    path = write_tuning(tmp_path, "box", [
        {"workload": "mm", "case": "a", "cost_model": "xgb", "trials": 32, "tuning_s": 40.0, "best_gflops": 90.0},
        {"workload": "mm", "case": "a", "variant": "random", "trials": 32, "tuning_s": 40.0, "best_median_s": 0.01,
         "flops": 2e9}])
    with open(path, "a") as f:
        f.write("{oops\n" + json.dumps({"workload": "mm", "case": "a", "trials": "many", "tuning_s": 1}) + "\n")
    loaded = load_results(tmp_path)
    assert sorted(loaded.tuning["cost_model"]) == ["random", "xgb"]
    assert loaded.tuning.set_index("cost_model").loc["random", "best_gflops"] == 200.0
    assert len(loaded.problems) == 2


def test_bad_paths_and_unknown_runs_are_errors(tmp_path: Path) -> None:
    import pytest
    with pytest.raises(FileNotFoundError):
        load_results(tmp_path / "missing")
    with pytest.raises(KeyError, match="nope"):
        load_results(tmp_path, ["nope"])


def test_parquet_export_round_trips(tmp_path: Path) -> None:
    import pandas as pd

    from analysis.load import write_parquet
    from tests.synthetic_runs import failed, ok, write_run
    write_run(tmp_path, "box", "r1", [ok("numpy", "default", "mm", "a", 1e-3, details={"blas": "openblas"}),
                                      failed("tvm", "tuned", "mm", "a", "crash", "SIGSEGV", traceback="<tb>")])
    loaded = load_results(tmp_path)
    write_parquet(loaded.records, tmp_path / "out.parquet")
    back = pd.read_parquet(tmp_path / "out.parquet")
    assert len(back) == 2 and set(back["status"]) == {"ok", "crash"}
    assert json.loads(back.set_index("backend").loc["numpy", "details"]) == {"blas": "openblas"}
    assert len(back.set_index("backend").loc["numpy", "samples_s"]) == 101
