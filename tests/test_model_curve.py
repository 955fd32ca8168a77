"""The whole-model TVM tuning curve (backends/tvm/model_curve.py): which budget comes next, a real two-budget curve
on the MLP at batch 1 (each budget continuing the previous database, measured beside a baseline in one suite run),
resume, and the tuning page's section drawn from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from backends.tvm.model_curve import next_budget
from suites.machine import REPO_ROOT, machine_slug


def _points(*pairs: tuple[int, float]) -> list[dict[str, Any]]:
    return [{"budget": b, "median_s": m} for b, m in pairs]


def test_the_listed_budgets_come_first_then_doublings_while_they_gain() -> None:
    budgets = (8, 16, 32)
    assert next_budget([], budgets, 1024, 0.05) == 8
    assert next_budget(_points((8, 1.0)), budgets, 1024, 0.05) == 16
    assert next_budget(_points((8, 1.0), (16, 0.9), (32, 0.80)), budgets, 1024, 0.05) == 64  # 12% gained
    assert next_budget(_points((8, 1.0), (16, 0.9), (32, 0.88)), budgets, 1024, 0.05) is None  # 2%: converged
    assert next_budget(_points((8, 1.0), (16, 0.9), (32, 0.5)), budgets, 32, 0.05) is None  # at the cap
    assert next_budget(_points((8, 1.0), (16, 0.9), (32, None)), budgets, 1024, 0.05) is None  # failed point
    # a chunk point between two doublings (96) is no doubling: 128 is judged against 64, not against 96
    chunked = _points((8, 1.0), (16, 0.9), (32, 0.8), (64, 0.7), (96, 0.62), (128, 0.6))
    assert next_budget(chunked, (8, 16, 32, 64, 96, 128), 1024, 0.05) == 256  # 64 -> 128 gained 17%
    assert next_budget(chunked[:-1] + _points((128, 0.68)), (8, 16, 32, 64, 96, 128), 1024, 0.05) is None  # 3%


def _cli(results: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": "0", "TVM_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "suites", "tune-model", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=900)


def test_a_two_budget_curve_continues_its_database_and_measures_beside_the_baseline(tmp_path: Path) -> None:
    args = ("--workload", "mlp", "--case", "b1", "--budgets", "2,4", "--max-trials", "4", "--threads", "1",
            "--repeats", "1", "--baselines", "torch-eager/default", "--results-dir", str(tmp_path))
    done = _cli(tmp_path, "run", *args)
    assert done.returncode == 0, done.stderr[-3000:]
    (curve,) = (tmp_path / machine_slug() / "tuning").glob("*.jsonl")
    records = [json.loads(line) for line in curve.read_text().splitlines()]
    points = [r for r in records if r["kind"] == "model_point"]
    # each suite run is named before it measures, so that a kill during it resumes that run
    assert [(r["kind"], r["budget"]) for r in records] == [("measuring", 2), ("model_point", 2),
                                                           ("measuring", 4), ("model_point", 4)]
    assert [p["budget"] for p in points] == [2, 4] and all(p["status"] == "ok" for p in points)
    first, second = points
    assert first["continued_from"] is None and second["continued_from"]["trials_per_task"] == 2
    assert second["continued_from"]["tuning_s"] == pytest.approx(first["tuning_s"])
    assert second["tuning_s"] > first["tuning_s"] > 0  # cumulative: budget 4 paid for budget 2 too
    assert first["suite_run"] != second["suite_run"]
    for point in points:  # TVM and its baseline come from one suite run, whose TVM cell did not tune
        suite = [json.loads(line) for line in (tmp_path / machine_slug() / f"{point['suite_run']}.jsonl")
                 .read_text().splitlines()]
        assert {f"{r['backend']}/{r['variant']}" for r in suite} == {"tvm/tuned", "torch-eager/default"}
        tvm = next(r for r in suite if r["backend"] == "tvm")
        assert tvm["details"]["trials"] == point["budget"] and tvm["details"]["tuning_cached"]
        assert point["baselines"]["torch-eager/default"]["status"] == "ok"
        assert point["ci_low_s"] <= point["median_s"] <= point["ci_high_s"]
    databases = sorted(p.name for p in (tmp_path / "cache" / "tvm").iterdir())
    assert len(databases) == 2 and "-t2-" in databases[0] + databases[1] and "-t4-" in databases[0] + databases[1]

    again = _cli(tmp_path, "run", *args, "--resume", curve.stem)
    assert again.returncode == 0 and ": tuning" not in again.stderr
    assert len(curve.read_text().splitlines()) == len(records)  # nothing run twice
    status = _cli(tmp_path, "status", "--results-dir", str(tmp_path))
    assert status.returncode == 0 and "2 trials/task" in status.stdout and "4 trials/task" in status.stdout

    from analysis.report import build_report
    from analysis.tuning_page import tuning_page

    html = tuning_page(build_report(tmp_path)).render([])
    assert "Whole-model curve: mlp b1" in html and "TVM vs torch eager (same run)" in html


def test_a_bad_workload_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _cli(tmp_path, "run", "--workload", "matmul", "--results-dir", str(tmp_path))
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "not a model workload" in done.stderr
    done = _cli(tmp_path, "run", "--budgets", "8,x", "--results-dir", str(tmp_path))
    assert done.returncode == 2 and "budgets must be integers" in done.stderr
    done = _cli(tmp_path, "run", "--resume", "nope", "--results-dir", str(tmp_path))
    assert done.returncode == 2 and "no tuning run 'nope'" in done.stderr
