"""Tuning curves: best-so-far reconstruction from MetaSchedule's records, the CLI's errors, and a tiny real run
(8 trials on a 64^3 matmul) whose resume adds only what is missing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from backends import get_backend
from backends.tvm.metaschedule import PROGRESS_FILE, RECORDS_FILE, best_record, parse_variant
from backends.tvm.tuning_curves import budgets_up_to, main, read_points
from suites.machine import REPO_ROOT, machine_slug


def write_series(directory: Path, run_secs: list[float], progress: list[tuple[int, float]]) -> Path:
    directory.mkdir(parents=True)
    lines = [json.dumps([0, [[[], []], [s], {"kind": "llvm"}, []]]) for s in run_secs]
    (directory / RECORDS_FILE).write_text("\n".join(lines) + "\n")
    (directory / PROGRESS_FILE).write_text("".join(json.dumps({"trials": t, "elapsed_s": e}) + "\n"
                                                   for t, e in progress))
    return directory


def test_best_so_far_is_the_fastest_valid_trial_within_the_budget(tmp_path: Path) -> None:
    # Trial 2 failed (MetaSchedule stores 1e10 s); rounds of two trials ended at 10 s and 20 s.
    series = write_series(tmp_path / "s", [3e-3, 1e10, 1e-3, 2e-3], [(2, 10.0), (4, 20.0)])
    assert best_record(series, 1)["best_trial"] == 1
    at2 = best_record(series, 2)
    assert (at2["best_trial"], at2["tuner_best_s"], at2["tuning_s"]) == (1, 3e-3, 10.0)
    at3 = best_record(series, 3)
    assert (at3["best_trial"], at3["tuning_s"], at3["trials_used"]) == (3, 20.0, 3)
    beyond = best_record(series, 512)  # a search that stopped early: every trial there is
    assert (beyond["best_trial"], beyond["trials_used"], beyond["trials_available"]) == (3, 4, 4)
    failed = write_series(tmp_path / "f", [1e10], [(1, 5.0)])
    with pytest.raises(RuntimeError, match="no valid candidate"):
        best_record(failed, 1)


def test_budgets_and_variants() -> None:
    assert budgets_up_to(256) == [0, 32, 64, 128, 256]
    assert budgets_up_to(8) == [0, 8]
    assert parse_variant("random-64") == ("random", 64)
    with pytest.raises(ValueError):
        parse_variant("sgd-64")
    assert get_backend("tvm-ms").capabilities.suites == ()


@pytest.mark.parametrize("argv", [
    ["run", "--workloads", "softmax"],
    ["run", "--cost-models", "sgd"],
    ["run", "--cases", "no-such-case"],
    ["run", "--max-trials", "0"],
    ["run", "--max-trials", "many"],
    ["frobnicate"],
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main([*argv, "--results-dir", str(tmp_path)] if argv[0] == "run" else argv))
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_unknown_resume_and_empty_status_exit_2(tmp_path: Path) -> None:
    assert main(["run", "--resume", "nope", "--results-dir", str(tmp_path)]) == 2
    assert main(["status", "--results-dir", str(tmp_path)]) == 2


def test_the_suite_command_line_dispatches_to_the_study(tmp_path: Path) -> None:
    """`python -m suites tune ...` (what `nox -s tune` runs) reaches this study's own command line."""
    done = subprocess.run([sys.executable, "-m", "suites", "tune", "status", "--results-dir", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "no tuning runs in" in done.stderr
    usage = subprocess.run([sys.executable, "-m", "suites", "tune", "--help"], cwd=REPO_ROOT, capture_output=True,
                           text=True, timeout=120)
    assert usage.returncode == 0 and usage.stdout.startswith("usage: python -m suites tune")


def test_tiny_tuning_run_then_resume(tmp_path: Path) -> None:
    argv = ["run", "--workloads", "matmul", "--cases", "64x64x64", "--cost-models", "xgb", "--max-trials", "8",
            "--trials-per-iter", "4", "--threads", "2", "--deploy", "kernel", "--results-dir", str(tmp_path / "r"),
            "--cache-dir", str(tmp_path / "cache"), "--deploy-dir", str(tmp_path / "deploy")]
    assert main(argv) == 0
    (path,) = (tmp_path / "r" / machine_slug() / "tuning").glob("*.jsonl")
    records = {r["key"]: r for r in read_points(path)}
    point = "point/matmul/64x64x64/xgb/{}"
    assert set(records) == {"baseline/matmul/64x64x64/numpy", "series/matmul/64x64x64/xgb/8", point.format(0),
                            point.format(8), "deploy/kernel/matmul/64x64x64/xgb-8"}
    series = records["series/matmul/64x64x64/xgb/8"]
    assert series["trials_done"] == 8 and series["tuning_s"] > 0
    naive, tuned = records[point.format(0)], records[point.format(8)]
    for r in (naive, tuned, records["baseline/matmul/64x64x64/numpy"]):
        assert r["status"] == "ok" and r["verification"]["passed"] and r["gflops"] > 0, r.get("reason")
    assert naive["trials_used"] == 0 and naive["tuning_s"] == 0
    assert tuned["trials_used"] == 8 and 1 <= tuned["best_trial"] <= 8 and 0 < tuned["tuning_s"] <= series["tuning_s"]
    progress = [json.loads(x) for x in (tmp_path / "cache" / "tvm-ms" / tuned["series"] / PROGRESS_FILE).open()]
    assert [p["trials"] for p in progress] == [4, 8] and progress[0]["elapsed_s"] < progress[1]["elapsed_s"]
    deploy = records["deploy/kernel/matmul/64x64x64/xgb-8"]
    assert deploy["status"] == "ok" and deploy["bytes"] > 0
    assert "libtvm_runtime.so" in deploy["runtime_only"]["tvm_libraries"]
    assert "libtvm_compiler.so" not in deploy["runtime_only"]["tvm_libraries"]
    assert deploy["runtime_only"]["verification"]["passed"]

    # Kill-and-resume: drop the tuned point and leave a half-written line; --resume redoes exactly that point,
    # reusing the tuning records.
    lines = [x for x in path.read_text().splitlines() if json.loads(x)["key"] != point.format(8)]
    path.write_text("\n".join(lines) + "\n" + json.dumps(tuned)[:40])
    meta = tmp_path / "cache" / "tvm-ms" / tuned["series"] / "mlcompare_tuning.json"
    before = meta.stat().st_mtime_ns
    assert main([*argv, "--resume", records[point.format(0)]["run_id"]]) == 0
    keys = [r["key"] for r in read_points(path)]
    assert sorted(keys) == sorted(records) and len(keys) == len(set(keys))
    assert meta.stat().st_mtime_ns == before  # not retuned
    assert main(["status", "--results-dir", str(tmp_path / "r")]) == 0
