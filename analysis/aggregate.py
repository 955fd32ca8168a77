"""Aggregation: speedups with bootstrap CIs, geomeans over a common set, coverage and the failure taxonomy.
Every rule here is restated on the site's method page; every ratio pairs two records of the same run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.dataset import Dataset
from suites.stats import Estimate

BASELINES = ("torch-eager", "numpy")
SUITES = ("operators", "models", "schedules", "llm")
MIN_COVERAGE_TO_RANK = 0.5  # a label below this share of a suite's cells is shown, never ranked on the common set


def cells_of(frame: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """(workload, case) -> row of a frame holding one label."""
    return {(r["workload"], r["case"]): r for r in frame.to_dict("records")}


def speedups(ds: Dataset, baseline: str) -> pd.DataFrame:
    """Every ok cell vs the baseline's ok cell of the same machine, device, suite, workload, case and run (a cell whose
    newest record and the baseline's come from different runs gets no speedup)."""
    rows = []
    for (machine, device, suite), group in (ds.ok.groupby(["machine", "device", "suite"]) if len(ds.ok) else []):
        base = cells_of(group[group["backend"] == baseline])
        for r in group.to_dict("records"):
            b = base.get((r["workload"], r["case"]))
            est = ds.ratio(b, r) if b is not None and r["backend"] != baseline else None
            if est is None:
                continue
            rows.append({"machine": machine, "device": device, "suite": suite, "workload": r["workload"],
                         "case": r["case"], "label": r["label"], "baseline": baseline, "speedup": est.value,
                         "lo": est.lo, "hi": est.hi})
    return pd.DataFrame(rows, columns=["machine", "device", "suite", "workload", "case", "label", "baseline",
                                       "speedup", "lo", "hi"])


@dataclass(frozen=True)
class GeomeanRow:
    label: str
    ok_cells: int  # cells this label compiled and verified
    attempted: int  # cells it has a record for
    total: int  # cells of the suite on this machine
    own: Estimate | None  # over this label's own ok cells that the baseline also has
    common: Estimate | None  # over the common set (None when not ranked)
    ranked: bool

    @property
    def coverage(self) -> float:
        return self.ok_cells / self.total if self.total else 0.0


def geomeans(ds: Dataset, machine: str, device: str, suites: tuple[str, ...], baseline: str,
             labels: list[str] | None = None) -> tuple[list[GeomeanRow], list[tuple[str, str]]]:
    """Geomean speedup vs the `baseline` label per label, and the common set it is ranked on.

    Rule: labels verifying at least half (MIN_COVERAGE_TO_RANK) of the cells are ranked on the common set (cells every
    ranked label and the baseline verified), so a label can never gain from a cell it failed; the others get a
    geomean over their own cells, shown with their coverage and marked unranked. A cell enters a label's geomeans
    only where its newest record and the baseline's come from the same run: a cell verified in another run than
    the baseline's is compared nowhere, and it is not in the common set.
    """
    every = pd.concat([ds.select(machine, device, s, ok=False) for s in suites]) if suites else pd.DataFrame()
    if every.empty:
        return [], []
    ok = every[every["status"] == "ok"]
    total = len(every[["suite", "workload", "case"]].drop_duplicates())
    base = {(r["suite"], r["workload"], r["case"]): r for r in ok[ok["label"] == baseline].to_dict("records")}
    names = labels if labels is not None else sorted(set(every["label"]) - {baseline})
    verified = {name: {(r["suite"], r["workload"], r["case"]): r for r in ok[ok["label"] == name].to_dict("records")}
                for name in names}
    paired = {name: {k: r for k, r in mine.items() if k in base and base[k]["run_id"] == r["run_id"]}
              for name, mine in verified.items()}
    attempted = every.groupby("label").size().to_dict()
    ranked = [n for n in names if total and len(verified[n]) / total >= MIN_COVERAGE_TO_RANK]
    common = set(base)
    for name in ranked:
        common &= set(paired[name])
    out = []
    for name in names:
        own = ds.geomean([(base[k], paired[name][k]) for k in sorted(paired[name])])
        com = ds.geomean([(base[k], paired[name][k]) for k in sorted(common)]) if name in ranked else None
        out.append(GeomeanRow(name, len(verified[name]), attempted.get(name, 0), total, own, com, name in ranked))
    return out, sorted((w, c) for _, w, c in common)


def failure_taxonomy(ds: Dataset) -> pd.DataFrame:
    """Count of each status per machine, device and label (ok included, so rows add up to the attempts)."""
    if ds.cur.empty:
        return pd.DataFrame()
    table = ds.cur.groupby(["machine", "device", "label", "status"]).size().unstack("status", fill_value=0)
    return table.reset_index()


def coverage_by_backend(ds: Dataset, machine: str, device: str, suites: tuple[str, ...],
                        backends: list[str] | None = None) -> tuple[dict[str, tuple[int, int]], int]:
    """backend -> (cells where any of its variants verified, cells compared), and the cells left out.

    Compared cells: those every listed backend (default: every backend but the baselines) has a record for, so a
    cell a backend was never run on (not selected, run unfinished) counts neither for nor against it.
    """
    every = pd.concat([ds.select(machine, device, s, ok=False) for s in suites])
    if every.empty:
        return {}, 0
    names = backends if backends is not None else sorted(set(every["backend"]) - set(BASELINES))
    keys = ["suite", "workload", "case"]
    attempted = {b: set(map(tuple, every[every["backend"] == b][keys].to_numpy())) for b in names}
    if not names or not all(attempted.values()):
        return {b: (0, len(attempted[b])) for b in names}, 0
    common = set.intersection(*attempted.values())
    union = set.union(*attempted.values())
    ok = every[every["status"] == "ok"]
    verified = {b: set(map(tuple, ok[ok["backend"] == b][keys].to_numpy())) & common for b in names}
    return {b: (len(verified[b]), len(common)) for b in names}, len(union - common)
