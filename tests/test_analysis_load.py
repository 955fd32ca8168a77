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
    loaded = load_results(REPO_ROOT / "results")
    assert not loaded.problems
    if len(loaded.records):
        assert set(loaded.records["run_id"]) <= set(loaded.manifests)
