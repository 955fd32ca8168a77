"""The ResNet-18 claims about TVM (seed 001): its speedup over PyTorch, its optimisation levels, its fusion.

Same contract as analysis/checks.py: newest records only, "no data" is inconclusive, every ratio pairs one run.
"""

from __future__ import annotations

from typing import Any

from analysis.checks import band, cell_link, is_batch1, positive, rows
from analysis.claim_types import Outcome, within_band
from analysis.dataset import Dataset, fastest_in_one_run
from suites.stats import Estimate


def _is_resnet18_b1(r: dict[str, Any]) -> bool:
    return "resnet18" in r["workload"].replace("-", "") and is_batch1(r)


def _resnet18(ds: Dataset, machine: str, device: str) -> list[dict[str, Any]]:
    return [r for r in rows(ds, machine, device, "models") if _is_resnet18_b1(r)]


# Relax has no default schedules: opt_level=3's TOPI ones need tuning (tuned-prepack: the experts' CPU tuning).
OPTIMISED_TVM = ("tuned", "tuned-prepack", "untuned-O2")


def _trials(row: dict[str, Any]) -> float:
    value = row.get("trials")
    return float(value) if isinstance(value, int | float) and value == value else 0.0


def deepest_tuned_pair(ds: Dataset, machine: str, device: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(torch eager, fastest optimised TVM) of the run whose TVM was tuned deepest (then the newest run): the claim
    is TVM's at the most tuning measured here (a whole-model curve's deepest point), paired inside that one run."""
    frame = ds.all
    if frame.empty:
        return None
    frame = frame[(frame["machine"] == machine) & (frame["device"] == device) & (frame["suite"] == "models")
                  & (frame["status"] == "ok")]
    by_run: dict[str, list[dict[str, Any]]] = {}
    for r in frame.to_dict("records"):
        if _is_resnet18_b1(r):
            by_run.setdefault(r["run_id"], []).append(r)
    best: tuple[tuple[float, str], dict[str, Any], dict[str, Any]] | None = None
    for run_id, mine in by_run.items():
        eager = [r for r in mine if r["backend"] == "torch-eager"]
        tvm = [r for r in mine if r["backend"] == "tvm" and r["variant"] in OPTIMISED_TVM]
        if eager and tvm:
            fastest = min(tvm, key=lambda r: r["median_s"])
            key = (_trials(fastest), run_id)
            if best is None or key > best[0]:
                best = (key, min(eager, key=lambda r: r["median_s"]), fastest)
    return None if best is None else (best[1], best[2])


def tvm_resnet18_speedup(ds: Dataset, machine: str, device: str) -> Outcome:
    cells = _resnet18(ds, machine, device)
    pair = deepest_tuned_pair(ds, machine, device)
    if pair is None:
        return Outcome("inconclusive", "no run holds ok ResNet-18 batch-1 records of both torch-eager and an "
                       f"optimised TVM build ({', '.join(OPTIMISED_TVM)})")
    eager, tvm = pair
    est = ds.ratio(eager, tvm)
    others = [(r, ds.ratio(eager, r)) for r in cells if r["backend"] == "tvm" and r["cell"] != tvm["cell"]]
    extra = "".join(f"; tvm/{r['variant']}: {e.fmt()}" for r, e in sorted(others, key=lambda x: x[0]["variant"])
                    if e is not None)
    depth = f", {_trials(tvm):.0f} trials per task" if _trials(tvm) else ""
    return Outcome(within_band(est, *band(1.7)), f"torch eager / tvm/{tvm['variant']} (fastest optimised TVM build"
                   f"{depth}, run {tvm['run_id']}) on {tvm['case']}: {est.fmt()}{extra}", est,
                   evidence=(cell_link(tvm),))


def tvm_opt_levels(ds: Dataset, machine: str, device: str) -> Outcome:
    cells = _resnet18(ds, machine, device)
    pair = fastest_in_one_run([r for r in cells if r["backend"] == "tvm" and r["variant"] == "untuned"],
                              [r for r in cells if r["backend"] == "tvm" and r["variant"] == "untuned-O2"])
    if pair is None:
        return Outcome("inconclusive", "no run holds ok ResNet-18 batch-1 records of tvm/untuned (O0) and "
                       "tvm/untuned-O2")
    bare, full = pair
    est = ds.ratio(bare, full)
    return Outcome(within_band(est, *band(25 / 8)), f"tvm/untuned (O0) latency / tvm/untuned-O2 (BN folding, "
                   f"constant folding, fusion): {est.fmt()}", est, evidence=(cell_link(full), cell_link(bare)))


def fusion_reduces_ops(ds: Dataset, machine: str, device: str) -> Outcome:
    counted = [r for r in _resnet18(ds, machine, device) if r["backend"] == "tvm"
               and positive(r.get("ops_before")) and positive(r.get("ops_after"))]
    if not counted:
        return Outcome("inconclusive", "no TVM ResNet-18 record reports ops_before/ops_after yet")
    r = sorted(counted, key=lambda r: (r["variant"] != "untuned-O2", r["variant"]))[0]
    before, after = float(r["ops_before"]), float(r["ops_after"])
    verdict = "supported" if after <= before / 2 else "refuted" if after >= before else "inconclusive"
    return Outcome(verdict, f"tvm/{r['variant']}: {before:.0f} operators before fusion, {after:.0f} after",
                   Estimate(before / after, before / after, before / after), "x fewer", (cell_link(r),))
