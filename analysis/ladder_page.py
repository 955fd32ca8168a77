"""The schedule ladder page: each step from the naive loop nest to tuned code, its speed and its TIR."""

from __future__ import annotations

from typing import Any

from analysis import charts
from analysis.checks import LADDER
from analysis.html import Page, Raw, e, fmt, fmt_s, link, num, pre, table
from analysis.links import slug, workload_href
from analysis.load import calibration_for
from analysis.report import Report

LADDER_BACKENDS = ("tvm-te", "tvm", "halide", "c-openmp", "numpy")


def _step_order(r: dict[str, Any]) -> tuple[int, int, str]:
    backend = LADDER_BACKENDS.index(r["backend"]) if r["backend"] in LADDER_BACKENDS else len(LADDER_BACKENDS)
    step = LADDER.index(r["variant"]) if r["variant"] in LADDER else len(LADDER)
    return backend, step, r["variant"]


def ladder_page(report: Report) -> Page:
    ds = report.ds
    page = Page("Schedule ladder: from the naive loop nest to tuned code")
    sched = ds.cur[ds.cur["suite"] == "schedules"] if len(ds.cur) else ds.cur
    if sched.empty:
        page.p("No schedules-suite results yet (nox -s bench-cpu -- --suite schedules).", "note")
        return page
    page.p("Each step as in the seed's table (003: naive, tiling, reorder, vectorize, parallel, unroll); fraction of "
           "peak uses the machine's measured FP32 peak. Open a step to read its lowered TIR.", "note")
    for (machine, workload, case), group in sched.groupby(["machine", "workload", "case"], sort=True):
        rows = sorted(group[group["status"] == "ok"].to_dict("records"), key=_step_order)
        calibration, _ = calibration_for(ds.loaded, machine)
        peak = float(calibration["peak_gflops"]) if calibration else None
        page.add(Raw(f'<h2 id="{e(slug(f"{machine}-{workload}-{case}"))}">{e(workload)} {e(case)} on '
                     f"{e(machine)}</h2>"))
        naive = next((r for r in rows if r["variant"] == "naive"), None)
        table_rows, previous = [], None
        for r in rows:
            vs_naive = naive["median_s"] / r["median_s"] if naive else None
            vs_prev = previous["median_s"] / r["median_s"] if previous is not None and r["backend"] == "tvm-te" \
                and r["variant"] in LADDER else None
            table_rows.append([r["label"], num(fmt_s(r["median_s"])), num(fmt(r.get("gflops"))),
                               num(f"{r['gflops'] / peak:.1%}" if peak and r.get("gflops") else "n/a"),
                               num(fmt(vs_naive) + ("x" if vs_naive else "")),
                               num(fmt(vs_prev) + ("x" if vs_prev else "")),
                               link("cell", workload_href("schedules", workload, case))])
            if r["backend"] == "tvm-te" and r["variant"] in LADDER:
                previous = r
        page.add(table(["step", "median", "GFLOP/s", "fraction of peak", "vs naive", "vs previous step", ""],
                       table_rows))
        refs = {"peak": peak} if peak else {}
        numpy = next((r for r in rows if r["backend"] == "numpy"), None)
        if numpy is not None and numpy.get("gflops"):
            refs["NumPy"] = float(numpy["gflops"])
        steps = [r for r in rows if r.get("gflops") and r["backend"] != "numpy"]
        if steps:
            page.chart(charts.ladder_bars(steps, refs, f"{workload} {case}: GFLOP/s per schedule"))
        for r in rows:
            page.add(pre(r.get("tir"), f"TIR of {r['label']}"))
    return page
