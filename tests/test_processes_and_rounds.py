"""A run's cells in independent processes and interleaved rounds, compiled once per cell, disturbed ones redone."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from backends import Task, get_backend
from models import get_workload
from suites.benchmark import build_manifest, run
from suites.machine import REPO_ROOT
from suites.matrix import Selection, expand, resolve
from suites.results import RunFiles
from suites.rounds import merge_processes
from suites.runner import CellOptions
from suites.stats import QUICK_POLICY, RepeatPolicy

# Live measurements of this machine's threads and load: not beside another test worker (noxfile.py).
pytestmark = pytest.mark.serial

BUSY = "import time\nt = time.time() + 120\nwhile time.time() < t: pass"


def _run(tmp_path: Path, backends: tuple[str, ...], repeats: int, workloads: tuple[str, ...] = ("softmax",),
         policy: RepeatPolicy = QUICK_POLICY) -> list[dict]:
    selection = resolve(Selection(backends=backends, workloads=workloads, scope="quick"))
    options = CellOptions(threads=1, timeout_s=300, repeat_policy=policy, repeats=repeats,
                          cache_dir=str(tmp_path / "cache"))
    files = RunFiles(tmp_path / "box", "20260101T000000Z-test")
    return run(files, expand(selection), options, build_manifest(files.run_id, selection, options, "test"))


def test_every_cell_runs_in_its_own_processes_in_shuffled_rounds(tmp_path: Path) -> None:
    records = _run(tmp_path, ("numpy", "torch-eager"), repeats=3)
    assert {r["status"] for r in records} == {"ok"} and len(records) == 2
    for r in records:
        processes = r["processes"]
        assert [p["round"] for p in processes] == [0, 1, 2]
        assert len(r["timing"]["processes"]) == 3
        assert r["timing"]["n"] == sum(p["n"] for p in r["timing"]["processes"])
        assert r["compile_s"] == processes[0]["compile_s"]  # the first process's: the cold compile
        lo, hi = r["timing"]["ci95_median_s"]
        assert lo <= r["timing"]["median_s"] <= hi
    # Within each round the two cells took both positions: the order is a recorded shuffle, not fixed.
    positions = {(p["round"], p["position"]) for r in records for p in r["processes"]}
    assert positions == {(k, i) for k in range(3) for i in range(2)}


def test_each_cell_is_recorded_when_its_last_process_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A killed run loses at most the cells still in progress: a record is appended right after the cell's last
    process, not at the end of its case."""
    import suites.benchmark

    log: list[tuple[str, str]] = []
    measure, append = suites.benchmark.run_cell_isolated, suites.benchmark.append_record

    def logged_measure(cell, options, **kwargs):  # type: ignore[no-untyped-def]
        log.append(("process", cell.key))
        return measure(cell, options, **kwargs)

    def logged_append(path, record):  # type: ignore[no-untyped-def]
        log.append(("record", record["cell"]))
        append(path, record)

    monkeypatch.setattr(suites.benchmark, "run_cell_isolated", logged_measure)
    monkeypatch.setattr(suites.benchmark, "append_record", logged_append)
    _run(tmp_path, ("numpy", "torch-eager"), repeats=2)
    for cell in {key for _, key in log}:
        last_process = max(i for i, entry in enumerate(log) if entry == ("process", cell))
        assert log[last_process + 1] == ("record", cell), log


def test_a_failed_first_process_is_not_run_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCOMPARE_EXTRA_BACKENDS", "fake-compile-error=tests.fake_backends:CompileErrorBackend")
    (record,) = _run(tmp_path, ("fake-compile-error",), repeats=3)
    assert record["status"] == "compile_error" and len(record["processes"]) == 1


@pytest.mark.parametrize(("backend", "variant", "flag"), [("onnxruntime", "default", "export_reused"),
                                                          ("iree", "onnx", "vmfb_reused"),
                                                          ("tvm", "untuned", "library_reused")])
def test_later_processes_load_the_first_ones_artifact(tmp_path: Path, backend: str, variant: str, flag: str) -> None:
    adapter = get_backend(backend)
    if adapter.missing_requirement:
        pytest.skip(adapter.missing_requirement)
    workload = get_workload("matmul")
    case = workload.case(workload.tiny_case)
    inputs = workload.make_inputs(case, 0)
    reference = workload.reference(case, inputs)
    outputs, details = [], []
    for process in range(2):
        task = Task(workload=workload, case=case, variant=variant, inputs=inputs, threads=1,
                    workdir=tmp_path / f"work{process}", cache_dir=tmp_path / "cache", artifact_dir=tmp_path / "cell")
        prepared = adapter.prepare(task)
        outputs.append(prepared.fetch(prepared.run()))
        details.append(prepared.details)
    assert not details[0][flag] and details[1][flag]
    for out in outputs:
        np.testing.assert_allclose(out, reference, rtol=1e-4, atol=1e-4)


def test_disturbed_processes_are_flagged_and_measured_again(tmp_path: Path) -> None:
    """A synthetic busy neighbour beside the whole run: every process is disturbed, each is measured once more,
    and the record says so (with the repeat disturbed too)."""
    neighbours = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2)]
    try:
        time.sleep(0.3)
        # 0.4 s of warm runs: a window shorter than 0.2 s is below /proc's resolution and never judged.
        (record,) = _run(tmp_path, ("numpy",), repeats=2, workloads=("matmul",),
                         policy=RepeatPolicy(min_runs=5, min_time_s=0.4, max_time_s=2.0))
    finally:
        for n in neighbours:
            n.kill()
            n.wait()
    assert record["status"] == "ok", record.get("reason")
    assert record["disturbed"] is True
    assert all(p["interference"]["disturbed"] for p in record["processes"])
    # Each was measured once more after the cell's last round; the repeat was disturbed too: the original stays.
    assert len(record["processes"]) == 2 and all(p["repeat_disturbed_too"] for p in record["processes"])
    assert record["processes"][0]["interference"]["other_cores"] > 0.5


def test_merge_keeps_the_first_failure_and_every_process() -> None:
    ok = {"status": "ok", "reason": "", "compile_s": 1.0, "timing": {"median_s": 1.0, "samples_s": [1.0, 1.0]},
          "details": {"export_reused": False}}
    crashed = {"status": "crash", "reason": "killed by SIGSEGV"}
    merged = merge_processes([ok, crashed], "run/cell")
    assert merged["status"] == "crash" and len(merged["processes"]) == 2
    assert json.dumps(merged)  # a record must stay JSON


def test_repeats_option_is_checked(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "suites", "run", "--repeats", "0", "--results-dir", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "--repeats must be at least 1" in done.stderr
    assert not any(tmp_path.iterdir())
