"""Compile cost: compile time with the tuning it stands on, and the break-even against a reference backend."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analysis.dataset import Dataset
from analysis.load import number


def effective_compile(ds: Dataset) -> pd.DataFrame:
    """Per current record: compile seconds as measured, the tuning cost it stands on, and their honest sum.

    Rule: tuning cost = details.tuning_s_original when present; else this cell's tuning_s when it tuned; else (cache
    reused, old record) the tuning_s of the newest run of the same cell on the same machine that did tune.
    effective = compile_s - tuning_s done in this cell + tuning cost, so cached tuning is still paid for once.
    A backend that compiles (or autotunes) on its first call, like Inductor, is charged that call's excess over a
    warm run as well (details.first_call_compiles / first_call_autotunes): its prepare step compiled nothing.
    """
    if ds.cur.empty:
        return pd.DataFrame()
    tuned = ds.all[(ds.all["tuning_s"].fillna(0) > 0)].sort_values("run_id")
    history = {(r["machine"], r["cell"]): r["tuning_s"] for r in tuned.to_dict("records")}
    rows = []
    for r in ds.cur.to_dict("records"):
        if r.get("compile_s") is None or (isinstance(r["compile_s"], float) and math.isnan(r["compile_s"])):
            continue
        here = number(r.get("tuning_s"))
        cost, source = number(r.get("tuning_s_original")), "tuning_s_original"
        if cost is None and here:
            cost, source = here, "tuned in this cell"
        if cost is None and (r["machine"], r["cell"]) in history:
            cost, source = float(history[(r["machine"], r["cell"])]), "an earlier run's tuning"
        if cost is None:
            source = "no tuning"
        effective = float(r["compile_s"]) - (here or 0.0) + (cost or 0.0) + _first_call_compile(r)
        rows.append({"machine": r["machine"], "run_id": r["run_id"], "device": r["device"], "suite": r["suite"],
                     "label": r["label"],
                     "workload": r["workload"], "case": r["case"], "status": r["status"],
                     "compile_s": float(r["compile_s"]), "tuning_cost_s": cost or 0.0, "tuning_source": source,
                     "effective_compile_s": effective, "median_s": r.get("median_s")})
    return pd.DataFrame(rows)


def _first_call_compile(r: dict[str, Any]) -> float:
    details = r.get("details") if isinstance(r.get("details"), dict) else {}
    first, warm = number(r.get("first_run_s")), number(r.get("median_s"))
    if not (details.get("first_call_compiles") or details.get("first_call_autotunes")) or first is None:
        return 0.0
    return max(0.0, first - (warm or 0.0))


def break_even(ds: Dataset, reference: str = "torch-eager") -> pd.DataFrame:
    """Inferences after which a backend's compile + n x latency beats the reference's (per workload and case).

    n* = max(1, ceil((C_b - C_ref) / (L_ref - L_b))) with C the effective compile seconds (tuning included);
    "never" when the backend is not faster per inference (L_b >= L_ref). Only records of the reference's run are
    compared with it.
    """
    costs = effective_compile(ds)
    if costs.empty:
        return costs
    costs = costs[costs["status"] == "ok"]
    rows = []
    for (machine, device, suite, workload, case), group in costs.groupby(["machine", "device", "suite", "workload",
                                                                          "case"]):
        ref = group[group["label"] == reference]
        if ref.empty:
            continue
        c_ref, l_ref = float(ref["effective_compile_s"].iloc[0]), float(ref["median_s"].iloc[0])
        same = group[(group["label"] != reference) & (group["run_id"] == ref["run_id"].iloc[0])]
        for r in same.to_dict("records"):
            c_b, l_b = r["effective_compile_s"], float(r["median_s"])
            n = "never" if l_b >= l_ref else max(1, math.ceil((c_b - c_ref) / (l_ref - l_b)))
            rows.append({"machine": machine, "device": device, "suite": suite, "workload": workload, "case": case,
                         "label": r["label"], "compile_s": c_b, "tuning_cost_s": r["tuning_cost_s"],
                         "latency_s": l_b, "reference_compile_s": c_ref, "reference_latency_s": l_ref,
                         "break_even": n})
    return pd.DataFrame(rows)


