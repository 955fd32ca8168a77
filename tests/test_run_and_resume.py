"""Whole runs through the command line: bad input, manifest, kill -9 and resume, pytest-benchmark export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from suites.machine import REPO_ROOT
from suites.results import read_records
from tests.fake_backends import ENV_VALUE

ENV = {**os.environ, "MLCOMPARE_EXTRA_BACKENDS": ENV_VALUE, "PYTHONPATH": str(REPO_ROOT)}


def cli(*args: str, results: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "suites", *args]
    if args[0] in ("run", "summary", "export"):
        command += ["--results-dir", str(results)]
    if args[0] == "run" and "--resume" not in args:
        command += ["--machine", "testbox", "--repeats", "1"]  # one process per cell: tests/test_processes_*
    done = subprocess.run(command, cwd=REPO_ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}: {done.stderr[-2000:]}")
    return done


def only_run(results: Path) -> tuple[str, Path, Path]:
    (manifest,) = list(results.glob("testbox/*.manifest.json"))
    run_id = manifest.name.removesuffix(".manifest.json")
    return run_id, manifest, manifest.with_name(f"{run_id}.jsonl")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backends", "numpy,tvmm"], "unknown backend 'tvmm' (valid: numpy, torch-eager"),
        (["--workloads", "matmull"], "unknown workload 'matmull' (valid: matmul"),
        (["--suite", "nope"], "unknown suite 'nope'"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--bogus-flag"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(args: list[str], message: str, tmp_path: Path) -> None:
    done = cli("run", *args, results=tmp_path, check=False)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_run_records_every_cell_and_one_thread_count(tmp_path: Path) -> None:
    cli("run", "--backends", "numpy,fake-wrong,fake-compile-error", "--workloads", "matmul", "--quick",
        "--threads", "1", results=tmp_path)
    run_id, manifest_path, records_path = only_run(tmp_path)
    records, problems = read_records(records_path)
    assert not problems
    assert {r["backend"]: r["status"] for r in records} == {
        "numpy": "ok", "fake-wrong": "wrong_result", "fake-compile-error": "compile_error"}
    manifest = json.loads(manifest_path.read_text())
    assert {t["threads"] for t in manifest["threads"].values()} == {1}
    assert manifest["machine"]["usable_cores"] >= 1 and manifest["git"]["commit"]
    assert manifest["versions"]["numpy"]["numpy"]
    assert manifest["status_counts"] == {"ok": 1, "wrong_result": 1, "compile_error": 1}
    summary = cli("summary", run_id, results=tmp_path).stdout
    assert "WRONG" in summary and "CE" in summary


def test_killed_run_resumes_with_every_cell_exactly_once(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "suites", "run", "--backends", "numpy,fake-slow", "--workloads", "matmul",
               "--quick", "--threads", "1", "--results-dir", str(tmp_path), "--machine", "testbox", "--repeats", "1"]
    proc = subprocess.Popen(command, cwd=REPO_ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    records_path = None
    while time.monotonic() < deadline:
        found = list(tmp_path.glob("testbox/*.jsonl"))
        if found and len(found[0].read_text().splitlines()) >= 2:
            records_path = found[0]
            break
        time.sleep(0.05)
    assert records_path is not None, "the run never recorded two cells"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len(records_path.read_text().splitlines())
    assert 2 <= before < 5
    with open(records_path, "a") as f:  # what a writer killed mid-line would leave
        f.write('{"schema": 1, "cell": "fake-slow/d/matmul/256x')
    run_id, _, _ = only_run(tmp_path)
    done = cli("run", "--resume", run_id, results=tmp_path)
    assert "cut an unfinished last line" in done.stderr
    records, problems = read_records(records_path)
    assert not problems
    cells = [r["cell"] for r in records]
    expected = {"numpy/default/matmul/256x256x256"} | {f"fake-slow/{v}/matmul/256x256x256" for v in "abcd"}
    assert sorted(cells) == sorted(expected)  # every cell, each exactly once
    assert all(r["status"] == "ok" for r in records)


def test_resume_rejects_a_new_selection(tmp_path: Path) -> None:
    done = cli("run", "--resume", "nope", "--backends", "numpy", results=tmp_path, check=False)
    assert done.returncode == 2 and "--resume reruns the run's own selection" in done.stderr
    done = cli("run", "--resume", "20990101T000000Z-dead", results=tmp_path, check=False)
    assert done.returncode == 2 and "no run '20990101T000000Z-dead'" in done.stderr


def test_pytest_benchmark_compare_reads_two_exported_runs(tmp_path: Path) -> None:
    exports = []
    for _ in range(2):
        cli("run", "--backends", "numpy,fake-slow", "--workloads", "matmul", "--quick", "--threads", "1",
            results=tmp_path)
    for manifest in sorted(tmp_path.glob("testbox/*.manifest.json")):
        run_id = manifest.name.removesuffix(".manifest.json")
        out = tmp_path / f"{len(exports):04d}_{run_id}.json"
        cli("export", run_id, "-o", str(out), results=tmp_path)
        data = json.loads(out.read_text())
        assert len(data["benchmarks"]) == 5
        assert all(b["stats"]["rounds"] == len(b["stats"]["data"]) for b in data["benchmarks"])
        exports.append(out)
    compare = Path(sys.executable).with_name("pytest-benchmark")  # the real console script
    done = subprocess.run([str(compare), "compare", *map(str, exports),
                           "--group-by", "group", "--columns", "min,median,max,rounds"],
                          capture_output=True, text=True, timeout=120, env=ENV)
    assert done.returncode == 0, done.stderr
    assert "test_matmul[numpy/default-256x256x256]" in done.stdout
    assert "test_matmul[fake-slow/a-256x256x256]" in done.stdout
