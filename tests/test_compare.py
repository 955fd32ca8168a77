"""`python -m suites compare`: reproducibility figures and significant changes between two synthetic runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from suites.compare import agreement, benjamini_hochberg, compare, format_comparison
from suites.machine import REPO_ROOT

CASES = (("matmul", "64x64x64"), ("softmax", "128x128"))
BACKENDS = {"torch-eager": 1.0, "onnxruntime": 0.5, "xla": 0.8}  # true latency relative to the case's base


def _record(run_id: str, backend: str, workload: str, case: str, median: float, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    samples = median * (1.0 + 0.01 * rng.standard_normal(200))
    return {"schema": 1, "run_id": run_id, "cell": f"{backend}/default/{workload}/{case}", "backend": backend,
            "variant": "default", "workload": workload, "case": case, "device": "cpu", "dtype": "float32",
            "threads": 2, "status": "ok", "reason": "",
            "timing": {"median_s": float(np.median(samples)), "samples_s": samples.tolist(),
                       "ci95_median_s": [float(np.quantile(samples, 0.45)), float(np.quantile(samples, 0.55))]}}


def _run(run_id: str, slower: dict[str, float] | None = None, seed: int = 0) -> list[dict[str, Any]]:
    slower = slower or {}
    records = []
    for w, (workload, case) in enumerate(CASES):
        base = 1e-3 * (w + 1)
        for b, (backend, factor) in enumerate(BACKENDS.items()):
            key = f"{backend}/default/{workload}/{case}"
            records.append(_record(run_id, backend, workload, case, base * factor * slower.get(key, 1.0),
                                   seed * 100 + w * 10 + b))
    return records


def test_an_identical_rerun_reproduces_and_nothing_is_significant() -> None:
    result = compare("A", _run("A", seed=1), "B", _run("B", seed=2))
    g = agreement(result)
    assert g.cells == 6 and g.within_5 == 1.0 and g.kendall_tau == 1.0 and g.same_winner == 2
    assert g.speedups == 4 and g.speedup_within_5 == 1.0
    assert result.significant() == []


def test_a_cell_twice_as_slow_is_the_one_significant_change_and_breaks_its_case_ranking() -> None:
    moved = "onnxruntime/default/softmax/128x128"
    result = compare("A", _run("A", seed=1), "B", _run("B", {moved: 2.0}, seed=2))
    assert [c.cell for c in result.significant()] == [moved]
    change = result.significant()[0].change
    assert change.lo > 1.8 and change.hi < 2.2
    g = agreement(result)
    assert g.within_5 == pytest.approx(5 / 6) and g.same_winner == 1 and g.kendall_tau < 1.0
    text = format_comparison(result)
    assert moved in text and "1 of 6" in text


def test_a_cell_missing_from_one_run_is_listed_not_borrowed() -> None:
    b = [r for r in _run("B", seed=2) if r["backend"] != "xla"]
    result = compare("A", _run("A", seed=1), "B", b)
    assert len(result.only_a) == 2 and all(c.startswith("xla/") for c in result.only_a)
    assert all(p.label != "xla/default" for p in result.speedups)


def test_benjamini_hochberg_matches_the_textbook_example() -> None:
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.005])
    assert q == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_the_compare_command_reads_two_run_files(tmp_path: Path) -> None:
    machine = tmp_path / "m"
    machine.mkdir()
    for run_id, records in (("A", _run("A", seed=1)), ("B", _run("B", {"xla/default/matmul/64x64x64": 1.5}, 2))):
        (machine / f"{run_id}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        (machine / f"{run_id}.manifest.json").write_text(json.dumps({"run_id": run_id}))
    done = subprocess.run([sys.executable, "-m", "suites", "compare", "A", "B", "--results-dir", str(tmp_path)],
                          cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "xla/default/matmul/64x64x64" in done.stdout and "1 of 6" in done.stdout
    missing = subprocess.run([sys.executable, "-m", "suites", "compare", "A", "NOPE", "--results-dir",
                              str(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1


def _drifting_run(run_id: str, rng: np.random.Generator, cells: int, drift: float) -> list[dict[str, Any]]:
    """Cells of 3 processes (2% process spread); the whole run of each cell shifted by `drift` (sd, log)."""
    records = []
    for i in range(cells):
        shift = float(np.exp(drift * rng.standard_normal()))
        processes = [(1e-3 * shift * np.exp(0.02 * rng.standard_normal()) * (1 + 0.005 * rng.standard_normal(40)))
                     .tolist() for _ in range(3)]
        pooled = [s for p in processes for s in p]
        records.append({"run_id": run_id, "cell": f"xla/default/matmul/c{i}", "backend": "xla", "variant": "default",
                        "workload": "matmul", "case": f"c{i}", "status": "ok",
                        "timing": {"median_s": float(np.median(pooled)), "samples_s": pooled,
                                   "processes": [{"samples_s": p} for p in processes]}})
    return records


def test_drift_between_runs_is_measured_and_the_widened_ci_holds_the_rerun() -> None:
    """Runs that drift 6% beyond their processes' 2% spread: the process-only CI misses many second-run medians,
    the pair's measured drift (about 6%) widens it to hold them, and no change is called significant."""
    rng = np.random.default_rng(5)
    result = compare("A", _drifting_run("A", rng, 80, 0.06), "B", _drifting_run("B", rng, 80, 0.06))
    g = agreement(result)
    assert 0.04 <= result.run_sd <= 0.08
    assert g.b_inside_a is not None and g.b_inside_a < 0.85
    assert g.b_inside_a_with_drift is not None and g.b_inside_a_with_drift >= 0.9
    assert result.significant() == []
    steady = compare("A", _drifting_run("A", rng, 80, 0.0), "B", _drifting_run("B", rng, 80, 0.0))
    assert steady.run_sd < 0.01
