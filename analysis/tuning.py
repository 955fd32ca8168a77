"""Tuning curves: results/<machine>/tuning/*.jsonl, as `python -m suites tune` writes them (backends/tvm).

One JSON object per line. `kind` "point" (the default when absent): one budget of one MetaSchedule series, with
workload, case, cost_model, budget (or trials), tuning_s (tuning wall time up to that budget), and the best kernel
so far timed in a fresh process: status, gflops (or best_gflops, or best_median_s with flops), timing.samples_s.
`kind` "baseline": NumPy timed the same way (the line a curve should cross). `kind` "deploy": a tuned artifact's
size and its runtime-only vs in-process latency. `kind` "series": tuning metadata (not shown). `kind`
"model_point": one budget of a whole-model curve (backends/tvm/model_curve.py), with its suite run's baselines;
`kind` "measuring": that curve's bookkeeping (not shown).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from suites.results import read_jsonl

COLUMNS = ("machine", "kind", "backend", "workload", "case", "cost_model", "trials", "tuning_s", "best_gflops",
           "status", "median_s", "samples_s", "run_id", "key", "reason")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def load_tuning(results_dir: Path, skip: tuple[str, ...] = (), allowed: set[Path] | None = None,
                machines: set[str] | None = None,
                ) -> tuple[pd.DataFrame, list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(points and baselines, deployment records, whole-model curve points, problems): malformed lines are
    reported and skipped. `machines`, when given, limits the machine directories read."""
    rows: list[dict[str, Any]] = []
    deploy: list[dict[str, Any]] = []
    model_points: list[dict[str, Any]] = []
    problems: list[str] = []
    for path in sorted(p for p in results_dir.glob("*/tuning/*.jsonl") if p.parent.parent.name not in skip
                       and (machines is None or p.parent.parent.name in machines)
                       and (allowed is None or p.resolve() in allowed)):
        machine = path.parent.parent.name
        points, skipped = read_jsonl(path, _unusable)
        problems.extend(skipped)
        for point in points:
            if point.get("kind") == "deploy":
                deploy.append({**point, "machine": machine})
            elif point.get("kind") == "model_point":
                model_points.append({**point, "machine": machine})
            elif point.get("kind") not in NOT_SHOWN:
                rows.append(tuning_row(point, machine))
    return pd.DataFrame(rows, columns=list(COLUMNS)), deploy, model_points, problems


NOT_SHOWN = ("series", "measuring")  # tuning metadata and a model curve's bookkeeping


def _unusable(point: Any) -> str | None:
    """Why a line is not a usable point, baseline, deployment or series object (None when it is)."""
    if isinstance(point, dict) and point.get("kind") in ("deploy", *NOT_SHOWN):
        return None
    if isinstance(point, dict) and point.get("kind") == "model_point":
        fine = all(isinstance(point.get(k), str) for k in ("workload", "case", "run_id")) and _finite(
            point.get("budget")) and isinstance(point.get("baselines"), dict)
        return None if fine else "a model_point needs workload, case, run_id, budget and baselines"
    row = tuning_row(point, "")
    return row if isinstance(row, str) else None


def tuning_row(point: Any, machine: str) -> dict[str, Any] | str:
    """One point or baseline as a row, or why the line is unusable."""
    if not isinstance(point, dict):
        return "not a JSON object"
    kind = point.get("kind", "point")
    timing = point.get("timing") if isinstance(point.get("timing"), dict) else {}
    median = point.get("median_s", timing.get("median_s"))
    gflops = point.get("best_gflops", point.get("gflops"))
    if gflops is None and _finite(point.get("best_median_s")) and _finite(point.get("flops")):
        gflops = point["flops"] / point["best_median_s"] / 1e9
    status = point.get("status", "ok")
    row = {"machine": machine, "kind": kind,
           "backend": point.get("backend", "numpy" if kind == "baseline" else "tvm-ms"),
           "workload": point.get("workload"), "case": point.get("case"),
           "cost_model": point.get("cost_model", point.get("variant", "numpy" if kind == "baseline" else "default")),
           "trials": point.get("trials", point.get("budget")), "tuning_s": point.get("tuning_s"),
           "best_gflops": gflops if status == "ok" else None, "status": status, "median_s": median,
           "samples_s": timing.get("samples_s"), "run_id": point.get("run_id"), "key": point.get("key"),
           "reason": point.get("reason", "")}
    if not isinstance(row["workload"], str) or not isinstance(row["case"], str):
        return "missing workload or case"
    if kind == "point":
        if not _finite(row["trials"]):
            return "a point needs a number of trials (trials or budget)"
        if row["tuning_s"] is None and row["trials"] == 0:
            row["tuning_s"] = 0.0
        if not _finite(row["tuning_s"]):
            return "a point needs tuning_s"
    if row["best_gflops"] is not None and not _finite(row["best_gflops"]):
        return "best_gflops must be a number"
    if status == "ok" and row["best_gflops"] is None:
        return "an ok point needs gflops (or best_gflops, or best_median_s with flops)"
    return row
