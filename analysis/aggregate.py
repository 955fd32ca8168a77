"""Aggregation: speedups with bootstrap CIs, geomeans over a common set, coverage, compile cost, break-even,
roofline fraction and the failure taxonomy. Every rule here is restated on the site's method page.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from analysis.load import LoadedResults, calibration_for, latest
from analysis.stats import Estimate, boot_medians, geomean, ratio

BASELINES = ("torch-eager", "numpy")
SUITES = ("operators", "models", "schedules")
MIN_COVERAGE_TO_RANK = 0.5  # a label below this share of a suite's cells is shown, never ranked on the common set
Sample = tuple[float, np.ndarray]  # (median, bootstrap medians)


def label_of(backend: str, variant: str) -> str:
    return backend if variant == "default" else f"{backend}/{variant}"


def target_of(device: str) -> str:
    """cpu, or gpu for any accelerator device (cuda, rocm, ...)."""
    return "cpu" if str(device).startswith("cpu") else "gpu"


class Dataset:
    """The loaded runs, the newest record of every cell, and a cache of bootstrap medians."""

    def __init__(self, loaded: LoadedResults) -> None:
        self.loaded = loaded
        self.all = loaded.records
        self.cur = latest(loaded.records)
        if len(self.cur):
            self.cur = self.cur.assign(label=[label_of(b, v) for b, v in zip(self.cur["backend"], self.cur["variant"],
                                                                              strict=True)],
                                       target=[target_of(d) for d in self.cur["device"]])
        self._boot: dict[tuple[str, str], np.ndarray] = {}

    @cached_property
    def ok(self) -> pd.DataFrame:
        if self.cur.empty:
            return self.cur
        return self.cur[self.cur["status"] == "ok"]

    def subset(self, keep: Any) -> Dataset:
        """The same runs with only some current records (a boolean mask over `cur`); the bootstrap cache is shared."""
        sub = copy.copy(self)
        sub.cur = self.cur[keep]
        sub.__dict__.pop("ok", None)
        return sub

    def scopes(self, target: str | None = None) -> list[tuple[str, str]]:
        """(machine, device) pairs present, optionally only cpu or gpu ones."""
        if self.cur.empty:
            return []
        pairs = self.cur[["machine", "device"]].drop_duplicates().itertuples(index=False)
        return sorted((m, d) for m, d in pairs if target is None or target_of(d) == target)

    def sample(self, row: Any) -> Sample:
        """(median, bootstrap medians) of an ok record (a pandas row or dict)."""
        key = (row["run_id"], row["cell"])
        if key not in self._boot:
            self._boot[key] = boot_medians(row["samples_s"], row["median_s"], f"{row['run_id']}/{row['cell']}")
        return float(row["median_s"]), self._boot[key]

    def select(self, machine: str, device: str, suite: str | None = None, ok: bool = True) -> pd.DataFrame:
        frame = self.ok if ok else self.cur
        if frame.empty:
            return frame
        mask = (frame["machine"] == machine) & (frame["device"] == device)
        if suite is not None:
            mask &= frame["suite"] == suite
        return frame[mask]


def cells_of(frame: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """(workload, case) -> row of a frame holding one label."""
    return {(r["workload"], r["case"]): r for r in frame.to_dict("records")}


def speedups(ds: Dataset, baseline: str) -> pd.DataFrame:
    """Every ok cell vs the baseline's ok cell of the same machine, device, suite, workload and case."""
    rows = []
    for (machine, device, suite), group in (ds.ok.groupby(["machine", "device", "suite"]) if len(ds.ok) else []):
        base = cells_of(group[group["backend"] == baseline])
        for r in group.to_dict("records"):
            b = base.get((r["workload"], r["case"]))
            if b is None or r["backend"] == baseline:
                continue
            est = ratio(ds.sample(b), ds.sample(r))
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
    geomean over their own cells, shown with their coverage and marked unranked.
    """
    every = pd.concat([ds.select(machine, device, s, ok=False) for s in suites]) if suites else pd.DataFrame()
    if every.empty:
        return [], []
    ok = every[every["status"] == "ok"]
    total = len(every[["suite", "workload", "case"]].drop_duplicates())
    base = {(r["suite"], r["workload"], r["case"]): r for r in ok[ok["label"] == baseline].to_dict("records")}
    names = labels if labels is not None else sorted(set(every["label"]) - {baseline})
    per_label = {name: {(r["suite"], r["workload"], r["case"]): r for r in ok[ok["label"] == name].to_dict("records")}
                 for name in names}
    attempted = every.groupby("label").size().to_dict()
    ranked = [n for n in names if total and len(per_label[n]) / total >= MIN_COVERAGE_TO_RANK]
    common = set(base)
    for name in ranked:
        common &= set(per_label[name])
    out = []
    for name in names:
        own_keys = sorted(set(per_label[name]) & set(base))
        own = geomean([(ds.sample(base[k]), ds.sample(per_label[name][k])) for k in own_keys])
        com = geomean([(ds.sample(base[k]), ds.sample(per_label[name][k])) for k in sorted(common)]) \
            if name in ranked else None
        out.append(GeomeanRow(name, len(per_label[name]), attempted.get(name, 0), total, own, com, name in ranked))
    return out, sorted((w, c) for _, w, c in common)


def effective_compile(ds: Dataset) -> pd.DataFrame:
    """Per current record: compile seconds as measured, the tuning cost it stands on, and their honest sum.

    Rule: tuning cost = details.tuning_s_original when present; else this cell's tuning_s when it tuned; else (cache
    reused, old record) the tuning_s of the newest run of the same cell on the same machine that did tune.
    effective = compile_s - tuning_s done in this cell + tuning cost, so cached tuning is still paid for once.
    """
    if ds.cur.empty:
        return pd.DataFrame()
    tuned = ds.all[(ds.all["tuning_s"].fillna(0) > 0)].sort_values("run_id")
    history = {(r["machine"], r["cell"]): r["tuning_s"] for r in tuned.to_dict("records")}
    rows = []
    for r in ds.cur.to_dict("records"):
        if r.get("compile_s") is None or (isinstance(r["compile_s"], float) and math.isnan(r["compile_s"])):
            continue
        here = _num(r.get("tuning_s"))
        cost, source = _num(r.get("tuning_s_original")), "tuning_s_original"
        if cost is None and here:
            cost, source = here, "tuned in this cell"
        if cost is None and (r["machine"], r["cell"]) in history:
            cost, source = float(history[(r["machine"], r["cell"])]), "an earlier run's tuning"
        if cost is None:
            source = "no tuning"
        effective = float(r["compile_s"]) - (here or 0.0) + (cost or 0.0)
        rows.append({"machine": r["machine"], "device": r["device"], "suite": r["suite"], "label": r["label"],
                     "workload": r["workload"], "case": r["case"], "status": r["status"],
                     "compile_s": float(r["compile_s"]), "tuning_cost_s": cost or 0.0, "tuning_source": source,
                     "effective_compile_s": effective, "median_s": r.get("median_s")})
    return pd.DataFrame(rows)


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def break_even(ds: Dataset, reference: str = "torch-eager") -> pd.DataFrame:
    """Inferences after which a backend's compile + n x latency beats the reference's (per workload and case).

    n* = max(1, ceil((C_b - C_ref) / (L_ref - L_b))) with C the effective compile seconds (tuning included);
    "never" when the backend is not faster per inference (L_b >= L_ref).
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
        for r in group[group["label"] != reference].to_dict("records"):
            c_b, l_b = r["effective_compile_s"], float(r["median_s"])
            n = "never" if l_b >= l_ref else max(1, math.ceil((c_b - c_ref) / (l_ref - l_b)))
            rows.append({"machine": machine, "device": device, "suite": suite, "workload": workload, "case": case,
                         "label": r["label"], "compile_s": c_b, "tuning_cost_s": r["tuning_cost_s"],
                         "latency_s": l_b, "reference_compile_s": c_ref, "reference_latency_s": l_ref,
                         "break_even": n})
    return pd.DataFrame(rows)


def roofline(ds: Dataset) -> tuple[pd.DataFrame, dict[str, str]]:
    """Per ok record: arithmetic intensity, attainable GFLOP/s = min(peak, AI x bandwidth), fraction achieved.

    A run without calibration uses the newest calibration of the same machine directory (said in the notes);
    a machine with none gets no roofline.
    """
    rows, notes = [], {}
    for machine, group in (ds.ok.groupby("machine") if len(ds.ok) else []):
        calibration, source = calibration_for(ds.loaded, machine)
        if calibration is None:
            notes[machine] = "no calibration in any run of this machine: roofline not available"
            continue
        notes[machine] = f"peak {calibration['peak_gflops']:.4g} GFLOP/s and bandwidth " \
                         f"{calibration['bandwidth_gbps']:.4g} GB/s measured in run {source}"
        peak, bw = float(calibration["peak_gflops"]), float(calibration["bandwidth_gbps"])
        for r in group.to_dict("records"):
            flops, nbytes, gflops = _num(r.get("flops")), _num(r.get("bytes")), _num(r.get("gflops"))
            if not flops or not nbytes or gflops is None:
                continue
            own = ds.loaded.manifests.get(r["run_id"], {}).get("calibration")
            ai = flops / nbytes
            attainable = min(peak, ai * bw)
            rows.append({"machine": machine, "suite": r["suite"], "label": r["label"], "workload": r["workload"],
                         "case": r["case"], "ai": ai, "gflops": gflops, "attainable_gflops": attainable,
                         "fraction": gflops / attainable, "peak_gflops": peak, "bandwidth_gbps": bw,
                         "calibration": "this run" if isinstance(own, dict) else f"run {source}"})
    return pd.DataFrame(rows), notes


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
