"""The auto-tuning curves page (MetaSchedule): best GFLOP/s against trials and tuning time, and deployment."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis import charts, tuning
from analysis.html import Cell, Page, Raw, e, fmt, num, table
from analysis.links import slug
from analysis.report import Report


def tuning_page(report: Report) -> Page:
    page = Page("Auto-tuning curves (MetaSchedule)")
    data = report.ds.loaded.tuning
    points = data[(data["kind"] == "point") & (data["status"] == "ok")] if len(data) else data
    if points.empty:
        page.p("No tuning curves under results/<machine>/tuning/ yet (nox -s tune). Expected format:", "note")
        page.add(tag_pre(tuning.__doc__ or ""))
    else:
        page.p("One section per tuning run: a curve is never joined with another run's points, and it is compared "
               "only with the NumPy baseline timed in its own run.", "note")
        points = points.assign(run_id=points["run_id"].fillna("(no run id)"))
    for (machine, workload, run_id), group in (points.groupby(["machine", "workload", "run_id"], sort=True)
                                               if len(points) else []):
        refs = _numpy_lines(data, machine, workload, run_id, sorted(set(group["case"])))
        page.h2(f"{workload} on {machine}, run {run_id}", slug(f"{machine}-{workload}-{run_id}"))
        page.chart(charts.tuning_curves(group, "trials", f"{workload}: best GFLOP/s vs trials", refs))
        page.chart(charts.tuning_curves(group, "tuning_s", f"{workload}: best GFLOP/s vs tuning time", refs))
        rows = []
        for (case, model), series in group.groupby(["case", "cost_model"], sort=True):
            series = series.sort_values("trials")
            last = series.iloc[-1]
            numpy = refs.get(f"NumPy {case}")
            passed = series[series["best_gflops"] >= numpy] if numpy else series.iloc[0:0]
            when = (f"{passed.iloc[0]['tuning_s']:.4g} s ({passed.iloc[0]['trials']:.0f} trials)" if len(passed)
                    else "not within the budget" if numpy else "no NumPy baseline in this run")
            rows.append([case, model, num(fmt(last["trials"])), num(fmt(last["tuning_s"])),
                         num(fmt(last["best_gflops"])), num(fmt(numpy)), when])
        page.add(table(["case", "cost model", "trials", "tuning s", "best GFLOP/s", "NumPy GFLOP/s",
                        "passes NumPy after"], rows))
    failed = data[(data["kind"] == "point") & (data["status"] != "ok")] if len(data) else data
    if len(failed):
        page.h2("Points that failed", "failed")
        page.add(table(["machine", "cell", "cost model", "trials", "status", "reason"], [
            [r["machine"], f"{r['workload']} {r['case']}", r["cost_model"], num(fmt(r["trials"])),
             Cell(r["status"], "bad"), r["reason"]] for r in failed.to_dict("records")]))
    model_curves(page, report.ds.loaded.model_curves)
    if report.ds.loaded.deploy:
        page.h2("Deployment footprint (runtime-only reload)", "deploy")
        page.add(table(["machine", "artifact", "cell", "variant", "bytes", "runtime-only / in-process latency",
                        "status"], [
            [d["machine"], d.get("artifact", ""), f"{d.get('workload', '')} {d.get('case', '')}",
             d.get("variant", ""), num(fmt(d.get("bytes"))), num(fmt(d.get("latency_ratio"))), d.get("status", "")]
            for d in report.ds.loaded.deploy]))
    return page


def model_curves(page: Page, points: list[dict[str, Any]]) -> None:
    """Whole-model curves (backends/tvm/model_curve.py): each budget's TVM latency and its rivals from one suite run."""
    curves: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for point in points:
        curves.setdefault((point["machine"], point["workload"], point["case"], point["run_id"]), []).append(point)
    for (machine, workload, case, run_id), mine in sorted(curves.items()):
        mine = sorted(mine, key=lambda p: p["budget"])
        ok = [p for p in mine if p.get("status") == "ok" and p.get("median_s")]
        labels = sorted({label for p in mine for label in p["baselines"]})
        # Each rival's line: the median of its medians over the curve's suite runs (every point has its own too).
        references = {label: float(np.median(values)) * 1e3 for label in labels
                      if (values := [p["baselines"][label]["median_s"] for p in mine if label in p["baselines"]
                                     and p["baselines"][label]["status"] == "ok"])}
        variant = mine[0].get("variant", "tuned")  # tuned, or the experts' tuned-prepack
        page.h2(f"Whole-model curve: {workload} {case}, TVM {variant}, on {machine}, run {run_id}",
                slug(f"{machine}-{workload}-{case}-{run_id}"))
        page.p("TVM (MetaSchedule, each budget continuing the previous database) against its rivals, all measured "
               "in the same suite run at each budget; a speedup is formed only inside that run.", "note")
        page.chart(charts.model_curve(ok, "budget", f"{workload} {case}: latency vs trials per task", references))
        page.chart(charts.model_curve(ok, "tuning_s", f"{workload} {case}: latency vs tuning time", references))
        rows = []
        for p in mine:
            eager = p["baselines"].get("torch-eager/default", {})
            paired = (f"{eager['median_s'] / p['median_s']:.2f}x" if p.get("median_s") and eager.get("median_s")
                      and eager.get("status") == "ok" else "")
            interval = (f"[{p['ci_low_s'] * 1e3:.3g}, {p['ci_high_s'] * 1e3:.3g}]"
                        if p.get("ci_low_s") and p.get("ci_high_s") else "")
            rows.append([num(fmt(p["budget"])), num(fmt((p.get("tuning_s") or 0) / 60)),
                         Cell(p.get("status", ""), "" if p.get("status") == "ok" else "bad"),
                         num(fmt(p["median_s"] * 1e3) if p.get("median_s") else ""), num(interval), num(paired),
                         *[num(fmt(p["baselines"][label]["median_s"] * 1e3)
                               if p["baselines"].get(label, {}).get("median_s") else "") for label in labels],
                         p.get("tuned_funcs") or "", p.get("suite_run", "")])
        page.add(table(["trials per task", "tuning min in all", "status", "TVM ms", "95% CI ms",
                        "TVM vs torch eager (same run)", *[f"{label} ms" for label in labels], "tuned kernels",
                        "suite run"], rows))


def _numpy_lines(data: pd.DataFrame, machine: str, workload: str, run_id: str, cases: list[str],
                 ) -> dict[str, float]:
    """NumPy GFLOP/s per case, from the baseline the tuning run timed itself (never from another run)."""
    refs = {}
    for case in cases:
        base = data[(data["kind"] == "baseline") & (data["machine"] == machine) & (data["workload"] == workload)
                    & (data["case"] == case) & (data["status"] == "ok") & (data["run_id"] == run_id)]
        if len(base):
            refs[f"NumPy {case}"] = float(base.iloc[-1]["best_gflops"])
    return refs


def tag_pre(text: str) -> Raw:
    return Raw(f"<pre>{e(text.strip())}</pre>")
