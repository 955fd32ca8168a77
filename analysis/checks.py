"""The checks behind each claim (see analysis/claims.py for the registry's shape and verdict vocabulary).

Every check takes the dataset and one (machine, device) scope and returns an Outcome computed from the newest
records only; "no data" is always inconclusive, never a guess, and every ratio pairs two records of one run.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import numpy as np

from analysis.aggregate import coverage_by_backend
from analysis.claim_types import Outcome, directional, within_band
from analysis.compile_cost import effective_compile
from analysis.dataset import REFUSED, Dataset, fastest_in_one_run
from analysis.links import PAGES, suite_href, workload_href
from suites.stats import Estimate, interval, median_ratio_ci

LADDER = ("naive", "split", "tile", "reorder", "vectorize", "parallel", "unroll", "pack", "packed", "cache")
AUTO = re.compile(r"metaschedule|ansor|(?<!un)tuned|^ms[-_]?\d*", re.IGNORECASE)  # 'untuned' is not auto
HALIDE_AUTO = ("adams2019", "li2018", "mullapudi2016")
SECONDS_VS_MINUTES_S = 60.0


def rows(ds: Dataset, machine: str, device: str, suite: str | None = None, **match: Any) -> list[dict[str, Any]]:
    frame = ds.select(machine, device, suite)
    for key, value in match.items():
        if frame.empty:
            break
        frame = frame[frame[key] == value]
    return frame.to_dict("records")


def band(value: float, tolerance: float = 1.25) -> tuple[float, float]:
    """The seed's 'about X' read as X/1.25 .. X*1.25."""
    return value / tolerance, value * tolerance


def is_batch1(row: dict[str, Any]) -> bool:
    dims = row.get("dims") or {}
    if "batch" in dims:
        return dims["batch"] == 1
    first = re.match(r"\D*(\d+)", str(row["case"]))
    return bool(first) and int(first.group(1)) == 1


def by_cell(candidates: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in candidates:
        out.setdefault((r["workload"], r["case"]), []).append(r)
    return out


def _in_one_run(xs: dict[tuple[str, str], list[dict[str, Any]]], ys: dict[tuple[str, str], list[dict[str, Any]]],
                ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Per cell both sides have: the fastest x and y of the newest run holding both (no such run: cell left out)."""
    pairs = [fastest_in_one_run(xs[k], ys[k]) for k in sorted(set(xs) & set(ys))]
    return [p for p in pairs if p is not None]


def cell_link(r: dict[str, Any]) -> tuple[str, str]:
    return f"{r['workload']} {r['case']}", workload_href(r["suite"], r["workload"], r["case"])


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def tuning_points(ds: Dataset, machine: str, workload: str | None = None) -> list[dict[str, Any]]:
    """The tuning curves' ok points as records (the best kernel after N trials, timed in a fresh process)."""
    data = ds.loaded.tuning
    if data.empty:
        return []
    data = data[(data["kind"] == "point") & (data["status"] == "ok") & (data["machine"] == machine)]
    out = []
    for p in data.to_dict("records"):
        if workload is not None and p["workload"] != workload:
            continue
        median = p["median_s"] if positive(p["median_s"]) else None
        if median is None:
            continue
        out.append({"run_id": p["run_id"] or "tuning", "cell": p["key"] or f"tvm-ms/{p['cost_model']}-"
                    f"{p['trials']:.0f}/{p['workload']}/{p['case']}", "samples_s": p["samples_s"],
                    "median_s": median, "suite": "schedules", "workload": p["workload"], "case": p["case"],
                    "backend": "tvm-ms", "variant": f"{p['cost_model']}-{p['trials']:.0f}"})
    return out


def _schedule_split(ds: Dataset, machine: str, device: str, workload: str | None = None):
    """(schedules-suite records, hand TE schedules, auto-tuned kernels incl. the tuning curves' points)."""
    sched = [r for r in rows(ds, machine, device, "schedules") if workload is None or r["workload"] == workload]
    auto = [r for r in sched if (r["backend"] in ("tvm-te", "tvm") and AUTO.search(r["variant"]))
            or r["backend"] == "tvm-ms"]
    auto += tuning_points(ds, machine, workload) if device == "cpu" else []
    hand = [r for r in sched if r["backend"] == "tvm-te" and not AUTO.search(r["variant"])]
    return sched, hand, auto


def autotune_beats_hand_tvm(ds: Dataset, machine: str, device: str) -> Outcome:
    _, hand, auto = _schedule_split(ds, machine, device)
    h, a = by_cell(hand), by_cell(auto)
    pairs = _in_one_run(h, a)
    if not pairs:
        return Outcome("inconclusive", "no run holds a schedule-suite cell with both a hand TE schedule and a "
                       "MetaSchedule one (tuning curves are their own runs)")
    est = ds.geomean(pairs)
    verdict = directional(est, band=ds.band)
    return Outcome(verdict, f"best hand schedule latency / MetaSchedule latency, geomean over {len(pairs)} "
                   f"cells: {est.fmt()}", est, evidence=(("tuning curves", PAGES["tuning"]),
                                                         *(cell_link(x) for x, _ in pairs)))


def autotune_beats_hand_halide(ds: Dataset, machine: str, device: str) -> Outcome:
    halide = by_cell(rows(ds, machine, device, "schedules", backend="halide"))
    pairs = [fastest_in_one_run([r for r in v if r["variant"] == "hand"], [r for r in v if r["variant"] in HALIDE_AUTO])
             for _, v in sorted(halide.items())]
    pairs = [p for p in pairs if p is not None]
    if not pairs:
        return Outcome("inconclusive", "no run holds a Halide cell with both a hand schedule and an autoscheduled one")
    est = ds.geomean(pairs)
    verdict = directional(est, band=ds.band)
    return Outcome(verdict, f"Halide hand / best autoscheduler latency, geomean over {len(pairs)} cells: "
                   f"{est.fmt()}", est, evidence=tuple(cell_link(y) for _, y in pairs))


def compile_seconds_vs_minutes(ds: Dataset, machine: str, device: str) -> Outcome:
    costs = effective_compile(ds)
    if costs.empty:
        return Outcome("inconclusive", "no compile times recorded")
    costs = costs[(costs["machine"] == machine) & (costs["device"] == device) & (costs["status"] == "ok")
                  & costs["suite"].isin(["operators", "models"])]
    heuristic = {name: costs[costs["label"] == name]["effective_compile_s"].to_numpy() for name in ("inductor", "xla")}
    tuned = costs[costs["label"].str.startswith("tvm/") & (costs["tuning_cost_s"] > 0)]["tuning_cost_s"].to_numpy()
    if any(v.size == 0 for v in heuristic.values()) or tuned.size == 0:
        return Outcome("inconclusive", "needs ok cells of inductor, xla and a tuned TVM variant with a tuning cost")
    medians = {k: float(np.median(v)) for k, v in heuristic.items()}
    tvm_median = float(np.median(tuned))
    est = median_ratio_ci(tuned, np.concatenate(list(heuristic.values())), f"{machine}/compile")
    fast = all(m < SECONDS_VS_MINUTES_S for m in medians.values())
    verdict = "supported" if fast and tvm_median >= SECONDS_VS_MINUTES_S else "refuted"
    return Outcome(verdict, f"median compile: inductor {medians['inductor']:.3g} s, xla {medians['xla']:.3g} s; "
                   f"median TVM tuning {tvm_median:.3g} s (tuning / heuristic compile {est.fmt()})", est,
                   evidence=(("compile time vs latency", PAGES["compile"]),))


def vendor_beats_generated(ds: Dataset, machine: str, device: str) -> Outcome:
    ops = [r for r in rows(ds, machine, device, "operators") if r["workload"] in ("matmul", "conv2d")]
    eager = {(r["workload"], r["case"]): r for r in ops if r["backend"] == "torch-eager"}
    variants = sorted({r["variant"] for r in ops if r["backend"] == "tvm"}, key=lambda v: (v != "tuned", v))
    for variant in variants:
        tvm = {(r["workload"], r["case"]): r for r in ops if r["backend"] == "tvm" and r["variant"] == variant}
        keys = [k for k in sorted(set(tvm) & set(eager)) if tvm[k]["run_id"] == eager[k]["run_id"]]
        if keys:
            est = ds.geomean([(tvm[k], eager[k]) for k in keys])
            verdict = directional(est, band=ds.band)
            return Outcome(verdict, f"tvm/{variant} latency / torch eager (oneDNN/BLAS) latency on "
                                    f"{len(keys)} matmul and conv2d cells: {est.fmt()}", est,
                           evidence=tuple(cell_link(tvm[k]) for k in keys))
    return Outcome("inconclusive", "no matmul/conv2d operator cell with both torch-eager and tvm in one run")


def _ladder_cells(ds: Dataset, machine: str, device: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    _, hand, _ = _schedule_split(ds, machine, device, "matmul")
    return by_cell(hand)


def ladder_steps_each_faster(ds: Dataset, machine: str, device: str) -> Outcome:
    steps, slower, evidence = [], [], []
    for _, cell in sorted(_ladder_cells(ds, machine, device).items()):
        ladder = sorted([r for r in cell if r["variant"] in LADDER], key=lambda r: LADDER.index(r["variant"]))
        for prev, nxt in itertools.pairwise(ladder):
            est = ds.ratio(prev, nxt)
            if est is None:  # the two steps' newest records come from different runs: no step ratio
                continue
            steps.append(est)
            if est.hi < 1:
                slower.append(f"{nxt['variant']} on {nxt['case']} ({est.fmt()})")
        if ladder:
            evidence.append(cell_link(ladder[-1]))
    if not steps:
        return Outcome("inconclusive", "no TE schedule ladder for matmul yet")
    weakest = min(steps, key=lambda e: e.value)
    verdict = "refuted" if slower else "supported" if all(e.lo > 1 for e in steps) else "inconclusive"
    detail = f"{len(steps)} steps; weakest step speedup {weakest.fmt()}" + (
        f"; slower after: {', '.join(slower)}" if slower else "")
    return Outcome(verdict, detail, weakest, evidence=(("schedule ladder", PAGES["ladder"]), *evidence))


def ladder_total(ds: Dataset, machine: str, device: str) -> Outcome:
    pairs = []
    for _, cell in sorted(_ladder_cells(ds, machine, device).items()):
        pair = fastest_in_one_run([r for r in cell if r["variant"] == "naive"],
                                  [r for r in cell if r["variant"] != "naive"])
        if pair:
            pairs.append(pair)
    if not pairs:
        return Outcome("inconclusive", "no run holds a matmul ladder with a naive step and a scheduled one")
    est = ds.geomean(pairs)
    return Outcome(within_band(est, 10, 100), f"naive / best hand schedule, geomean over {len(pairs)} matmul sizes: "
                   f"{est.fmt()}", est, evidence=tuple(cell_link(b) for _, b in pairs))


def naive_gflops(ds: Dataset, machine: str, device: str) -> Outcome:
    naive = [r for cell in _ladder_cells(ds, machine, device).values() for r in cell
             if r["variant"] == "naive" and r["case"] == "1024x1024x1024" and positive(r.get("flops"))]
    if not naive:
        return Outcome("inconclusive", "no naive TE matmul 1024 record yet")
    r = naive[0]
    median, boot = ds.sample(r)
    est = interval(r["flops"] / boot / 1e9, r["flops"] / median / 1e9)
    return Outcome(within_band(est, 2, 8), f"naive matmul 1024: {est.fmt(unit=' GFLOP/s')}", est, " GFLOP/s",
                   (cell_link(r),))


def numpy_beats_hand(ds: Dataset, machine: str, device: str) -> Outcome:
    hand = _ladder_cells(ds, machine, device)
    numpy = sorted(rows(ds, machine, device, None, backend="numpy", workload="matmul"),
                   key=lambda r: r["suite"] != "schedules")
    pairs = [fastest_in_one_run(v, [r for r in numpy if r["case"] == case]) for (_, case), v in sorted(hand.items())]
    pairs = [p for p in pairs if p is not None]
    if not pairs:
        return Outcome("inconclusive", "no run holds a matmul size with both a hand TE schedule and NumPy")
    est = ds.geomean(pairs)
    verdict = directional(est, band=ds.band)
    return Outcome(verdict, f"best hand schedule latency / NumPy (OpenBLAS) latency over {len(pairs)} "
                   f"sizes: {est.fmt()}", est, evidence=tuple(cell_link(h) for h, _ in pairs))


def tvm_beats_openmp(ds: Dataset, machine: str, device: str) -> Outcome:
    sched, hand, auto = _schedule_split(ds, machine, device, "matmul")
    omp = by_cell([r for r in sched if r["backend"] == "c-openmp"])
    tvm = by_cell(hand + auto)
    pairs = _in_one_run(omp, tvm)
    if not pairs:
        return Outcome("inconclusive", "no run holds a matmul size with both a C+OpenMP and a TVM schedule")
    est = ds.geomean(pairs)
    verdict = directional(est, band=ds.band)
    return Outcome(verdict, f"best C+OpenMP latency / best TVM schedule latency over {len(pairs)} sizes: "
                   f"{est.fmt()}", est, evidence=tuple(cell_link(o) for o, _ in pairs))


MEMORY_BOUND = ("bias_add_relu", "softmax", "layernorm")


def fusion_beats_eager(ds: Dataset, machine: str, device: str) -> Outcome:
    ops = [r for r in rows(ds, machine, device, "operators") if r["workload"] in MEMORY_BOUND]
    eager = {(r["workload"], r["case"]): r for r in ops if r["backend"] == "torch-eager"}
    found: dict[str, Estimate] = {}
    for backend in ("inductor", "xla", "tvm"):
        best = None
        for variant in sorted({r["variant"] for r in ops if r["backend"] == backend}):
            mine = {(r["workload"], r["case"]): r for r in ops if r["backend"] == backend and r["variant"] == variant}
            est = ds.geomean([(eager[k], mine[k]) for k in sorted(set(mine) & set(eager))])
            if est and (best is None or est.value > best[1].value):
                best = (f"{backend}/{variant}" if variant != "default" else backend, est)
        if best:
            found[best[0]] = best[1]
    if not found:
        return Outcome("inconclusive", "no memory-bound operator cells for the fusing compilers yet")
    verdicts = {directional(e, band=ds.band) for e in found.values()}
    verdict = verdicts.pop() if len(verdicts) == 1 else "inconclusive"
    detail = "; ".join(f"{k} {v.fmt()} vs eager" for k, v in found.items())
    return Outcome(verdict, f"geomean speedup on {', '.join(MEMORY_BOUND)}: {detail}", None, "",
                   tuple((w, workload_href("operators", w)) for w in MEMORY_BOUND if w in {r["workload"] for r in ops}))


def triton_gpu_only(ds: Dataset, machine: str, device: str) -> Outcome:
    """Decided only by attempts that could have gone either way: an adapter refusing CPU cells proves nothing."""
    triton = ds.select(machine, device, ok=False)
    triton = triton[triton["backend"] == "triton"].to_dict("records") if len(triton) else []
    if not triton:
        return Outcome("inconclusive", "no Triton cells were attempted on this CPU")
    tried = [r for r in triton if r["status"] not in REFUSED]
    ok = [r for r in tried if r["status"] == "ok"]
    evidence = (("failure table", PAGES["failures"]),)
    if not tried:
        return Outcome("inconclusive", f"not measured: all {len(triton)} Triton CPU cells were refused before running "
                       f"({triton[0]['status']}: {triton[0]['reason'][:100]}); a refusal by the adapter cannot "
                       "refute the claim, so it cannot support it either", None, "", evidence)
    detail = f"{len(ok)} of {len(tried)} Triton CPU cells that were really attempted ran"
    return Outcome("refuted" if ok else "supported", detail, None, "", evidence)


def triton_fastest_gpu(ds: Dataset, machine: str, device: str) -> Outcome:
    cells = by_cell(rows(ds, machine, device, "operators"))
    pairs = []
    for _, v in sorted(cells.items()):
        pair = fastest_in_one_run([r for r in v if r["backend"] != "triton"],
                                  [r for r in v if r["backend"] == "triton"])
        if pair:
            pairs.append(pair)
    if not pairs:
        return Outcome("inconclusive", "no run holds a GPU operator cell with Triton and another backend")
    est = ds.geomean(pairs)
    verdict = directional(est, band=ds.band)
    return Outcome(verdict, f"fastest other backend / Triton over {len(pairs)} cells: {est.fmt()}", est,
                   evidence=(("operators suite", suite_href("operators")),))


def _coverage(ds: Dataset, machine: str, device: str, suites: tuple[str, ...]) -> tuple[dict[str, tuple[int, int]],
                                                                                         int]:
    return coverage_by_backend(ds, machine, device, suites)


def _broadest(name: str, found: tuple[dict[str, tuple[int, int]], int], what: str) -> Outcome:
    cov, left_out = found
    if name not in cov or cov[name][1] == 0:
        return Outcome("inconclusive", f"no {name} cells in the {what} that every compiler was run on yet")
    mine = cov[name][0] / cov[name][1]
    others = {b: ok / total for b, (ok, total) in cov.items() if b != name}
    better = [f"{b} {v:.0%}" for b, v in sorted(others.items()) if v > mine]
    skipped = f" ({left_out} cells not run by every compiler left out)" if left_out else ""
    detail = f"{name} verified {cov[name][0]}/{cov[name][1]} cells of the {what}{skipped}; " + (
        f"broader: {', '.join(better)}" if better else "no backend verified more")
    return Outcome("refuted" if better else "supported", detail, None, "", (("failure table", PAGES["failures"]),))


def ort_broadest_models(ds: Dataset, machine: str, device: str) -> Outcome:
    cov = _coverage(ds, machine, device, ("models",))
    if not cov[0]:
        return Outcome("inconclusive", "no model-suite results yet")
    return _broadest("onnxruntime", cov, "model suite")


def tvm_best_coverage(ds: Dataset, machine: str, device: str) -> Outcome:
    cov = _coverage(ds, machine, device, ("operators", "models"))
    return _broadest("tvm", cov, "operator and model suites") if cov[0] else Outcome("inconclusive", "no results")


def ort_easier_than_tvm(ds: Dataset, machine: str, device: str) -> Outcome:
    costs = effective_compile(ds)
    if costs.empty:
        return Outcome("inconclusive", "no compile times recorded")
    costs = costs[(costs["machine"] == machine) & (costs["device"] == device) & (costs["status"] == "ok")
                  & costs["suite"].isin(["operators", "models"])]
    ort = costs[costs["label"] == "onnxruntime"]["effective_compile_s"].to_numpy()
    tvm = costs[costs["label"] == "tvm/untuned"]["effective_compile_s"].to_numpy()
    cov, _ = coverage_by_backend(ds, machine, device, ("operators", "models"), ["onnxruntime", "tvm"])
    if ort.size == 0 or tvm.size == 0 or "tvm" not in cov or "onnxruntime" not in cov:
        return Outcome("inconclusive", "needs ok cells of onnxruntime and tvm/untuned")
    est = median_ratio_ci(tvm, ort, f"{machine}/ort-vs-tvm")
    broad = cov["onnxruntime"][0] >= cov["tvm"][0]
    verdict = "refuted" if est.hi < 1 or not broad else "supported" if est.lo > 1 else "inconclusive"
    return Outcome(verdict, f"median compile tvm/untuned {np.median(tvm):.3g} s vs onnxruntime {np.median(ort):.3g} s "
                   f"(ratio {est.fmt()}); cells verified: onnxruntime {cov['onnxruntime'][0]}, tvm {cov['tvm'][0]}",
                   est, evidence=(("compile time vs latency", PAGES["compile"]),))
