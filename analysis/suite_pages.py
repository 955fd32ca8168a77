"""A page per suite (geomeans, coverage, speedup heatmap, costs) and a drill-down page per workload."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis import charts
from analysis.aggregate import BASELINES, GeomeanRow
from analysis.dataset import Dataset
from analysis.html import Cell, Page, Raw, e, fmt, fmt_s, link, num, pre, table
from analysis.links import PAGES, slug, suite_href, workload_href
from analysis.llm import LLM_SUITE
from analysis.llm_page import llm_page
from analysis.load import DISTURBED
from analysis.report import Report

COST_COLUMNS = (("compile_s", "compile s"), ("export_s", "export s"), ("tuning_s", "tuning s (this run)"),
                ("tuning_s_original", "tuning s (original)"), ("first_run_s", "first run s"),
                ("throughput_per_s", "samples/s"), ("peak_rss_compile_mb", "peak RSS compile MB"),
                ("peak_rss_run_mb", "peak RSS run MB"), ("peak_rss_mb", "peak RSS MB"),
                ("artifact_bytes", "artifact bytes"), ("params", "params"), ("ops_before", "ops before fusion"),
                ("ops_after", "ops after fusion"))


def suite_pages(report: Report) -> dict[str, Page]:
    out: dict[str, Page] = {}
    for suite in report.suites:
        # The llm suite is timed per phase (prefill, decode step) against its own baseline: a page of its own.
        out[suite_href(suite)] = llm_page(report) if suite == LLM_SUITE else suite_page(report, suite)
        cur = report.ds.cur
        for workload in sorted(set(cur[cur["suite"] == suite]["workload"])):
            out[workload_href(suite, workload)] = workload_page(report, suite, workload)
    return out


def suite_page(report: Report, suite: str) -> Page:
    ds = report.ds
    page = Page(f"{suite.capitalize()} suite")
    cur = ds.cur[ds.cur["suite"] == suite]
    page.p(Raw("Workloads: " + ", ".join(e(link(w, workload_href(suite, w))) for w in sorted(set(cur["workload"])))))
    if suite == "schedules":
        page.p(Raw(f"The schedule ladder with each step's TIR: {e(link('schedule ladder', PAGES['ladder']))}; "
                   f"tuning curves: {e(link('tuning curves', PAGES['tuning']))}."))
    for machine, device in ds.scopes():
        for baseline in BASELINES:
            rows = report.geomeans(machine, device, suite, baseline)
            if not any(r.own for r in rows):
                continue
            page.h2(f"{machine} ({device}): speedup vs {baseline}", slug(f"{machine}-{device}-{baseline}"))
            page.p("Ranked labels: geomean over the common set of cells every ranked label and the baseline verified;"
                   " labels verifying under half the cells are unranked and shown over their own cells.", "note")
            page.add(table(["backend/variant", "geomean, common set [95% CI]", "geomean, own cells", "verified",
                            "attempted", "cells"], [
                [r.label, r.common.fmt() if r.ranked and r.common else "unranked", _own(r),
                 num(r.ok_cells), num(r.attempted), num(r.total)]
                for r in sorted(rows, key=lambda r: -(r.common.value if r.ranked and r.common else 0))]))
            page.chart(charts.geomean_bars(rows, f"{suite} on {machine}: geomean speedup vs {baseline}"))
            table_ = report.speedups[baseline]
            mine = table_[(table_["machine"] == machine) & (table_["device"] == device) & (table_["suite"] == suite)]
            if len(mine):
                page.chart(charts.speedup_heatmap(mine, f"speedup vs {baseline} per cell"))
    costs = cost_table(cur)
    if costs is not None:
        page.h2("Costs: compile, tuning, first run, memory, artifact", "costs")
        page.add(costs)
    return page


def _own(row: GeomeanRow) -> str:
    if row.own:
        return row.own.fmt()
    return "none in the baseline's run" if row.ok_cells else "-"


def cost_table(frame: pd.DataFrame) -> Raw | None:
    present = [(c, name) for c, name in COST_COLUMNS if c in frame and frame[c].notna().any()]
    if frame.empty or not present:
        return None
    rows = []
    for r in frame.sort_values(["workload", "case", "label"]).to_dict("records"):
        cells = (num(fmt(r.get(c))) for c, _ in present)
        rows.append([f"{r['workload']} {r['case']}", r["label"], r["status"], *cells])
    return table(["cell", "backend/variant", "status", *(name for _, name in present)], rows)


def _speedup(report: Report, baseline: str, r: dict[str, Any]) -> str:
    t = report.speedups[baseline]
    hit = t[(t["machine"] == r["machine"]) & (t["device"] == r["device"]) & (t["suite"] == r["suite"])
            & (t["workload"] == r["workload"]) & (t["case"] == r["case"]) & (t["label"] == r["label"])]
    if hit.empty:
        ok = report.ds.ok
        base = ok[(ok["machine"] == r["machine"]) & (ok["device"] == r["device"]) & (ok["suite"] == r["suite"])
                  & (ok["workload"] == r["workload"]) & (ok["case"] == r["case"]) & (ok["backend"] == baseline)]
        if r["status"] == "ok" and r["backend"] != baseline and len(base) and base.iloc[0]["run_id"] != r["run_id"]:
            return "none: baseline from another run"
        return ""
    h = hit.iloc[0]
    return f"{h['speedup']:.3g}x [{h['lo']:.3g}, {h['hi']:.3g}]"


def _earlier(ds: Dataset, r: dict[str, Any]) -> str:
    """Medians of the same cell in older runs (they are not used, but show run-to-run variation)."""
    same = ds.all[(ds.all["machine"] == r["machine"]) & (ds.all["cell"] == r["cell"])
                  & (ds.all["device"] == r["device"]) & (ds.all["run_id"] != r["run_id"])]
    return ", ".join(f"{run}: {fmt_s(m) if m == m else s}" for run, m, s in
                     zip(same["run_id"], same["median_s"], same["status"], strict=True))


def workload_page(report: Report, suite: str, workload: str) -> Page:
    ds = report.ds
    page = Page(f"{workload} ({suite})", depth=1)
    frame = ds.cur[(ds.cur["suite"] == suite) & (ds.cur["workload"] == workload)]
    for (case, machine, device), group in frame.groupby(["case", "machine", "device"], sort=True):
        page.add(Raw(f'<h2 id="case-{e(slug(case))}">{e(case)} on {e(machine)} ({e(device)})</h2>'))
        dims = group.iloc[0]["dims"]
        if isinstance(dims, dict) and dims:
            page.p("dims: " + ", ".join(f"{k}={v}" for k, v in sorted(dims.items())), "note")
        rows, failures = [], []
        ok_by_cell: dict[str, dict] = {}
        for r in group.sort_values(["status", "median_s", "label"], na_position="last").to_dict("records"):
            ok = r["status"] == "ok"
            if ok:  # the report's interval: a rerun interval widened by the machine's measured drift
                shown = ds.median_interval(r)
                r.update(ci95_low_s=shown.lo, ci95_high_s=shown.hi)
                ok_by_cell[r["cell"]] = r
            rows.append([
                r["label"], Cell(r["status"] + (" (disturbed)" if r.get("disturbed") is True else ""),
                                 "ok" if ok else "bad", DISTURBED if r.get("disturbed") is True else ""),
                num(fmt_s(r["median_s"])),
                num(f"[{fmt_s(r['ci95_low_s'])}, {fmt_s(r['ci95_high_s'])}]" if ok else ""),
                _speedup(report, "torch-eager", r), _speedup(report, "numpy", r), num(fmt(r.get("gflops"))),
                num(fmt(r.get("compile_s"))), num(fmt(r.get("first_run_s"))),
                num(fmt(r.get("error"))), num(fmt(r.get("n"))), _earlier(ds, r)])
            if not ok:
                failures.append(Raw(f"<p><b>{e(r['label'])}</b> ({e(r['status'])}): {e(r['reason'])}</p>"
                                    + e(pre(r.get("traceback"), "traceback"))
                                    + e(pre(r.get("stderr_tail"), "stderr tail"))))
        page.add(table(["backend/variant", "status", "median", "95% CI", "vs torch-eager", "vs numpy", "GFLOP/s",
                        "compile s", "first run s", "max error", "runs", "other runs (not used)"], rows))
        ok_rows = [ok_by_cell[cell] for cell in group[group["status"] == "ok"]["cell"]]
        if ok_rows:
            page.chart(charts.latency_boxes(ok_rows, f"{workload} {case}: latency distribution (box q1-q3, "
                                                     "whiskers p10-p90)"))
            page.chart(charts.median_errorbars(ok_rows, f"{workload} {case}: median latency, 95% rerun interval"))
        if failures:
            page.add(Raw("<h3>Failures</h3>"), *failures)
    return page
