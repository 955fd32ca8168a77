"""The schedule ladder, tuning curves, roofline, compile-vs-latency, failure and environment pages."""

from __future__ import annotations

import json
from typing import Any

from analysis import charts
from analysis.aggregate import break_even, effective_compile, failure_taxonomy, roofline
from analysis.checks import LADDER
from analysis.html import Cell, Page, Raw, e, link, pre, table
from analysis.links import PAGES, slug, workload_href
from analysis.load import calibration_for
from analysis.pages import fmt, fmt_s, num
from analysis.report import Report

LADDER_BACKENDS = ("tvm-te", "tvm", "halide", "c-openmp", "numpy")


def extra_pages(report: Report) -> dict[str, Any]:
    return {PAGES["ladder"]: ladder_page(report), PAGES["tuning"]: tuning_page(report),
            PAGES["roofline"]: roofline_page(report), PAGES["compile"]: compile_page(report),
            PAGES["failures"]: failures_page(report), PAGES["environment"]: environment_page(report)}


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


def tuning_page(report: Report) -> Page:
    from analysis import tuning
    page = Page("Auto-tuning curves (MetaSchedule)")
    data = report.ds.loaded.tuning
    points = data[(data["kind"] == "point") & (data["status"] == "ok")] if len(data) else data
    if points.empty:
        page.p("No tuning curves under results/<machine>/tuning/ yet (nox -s tune). Expected format:", "note")
        page.add(tag_pre(tuning.__doc__ or ""))
    for (machine, workload), group in (points.groupby(["machine", "workload"], sort=True) if len(points) else []):
        refs = _numpy_lines(report, data, machine, workload, sorted(set(group["case"])))
        page.h2(f"{workload} on {machine}", slug(f"{machine}-{workload}"))
        page.chart(charts.tuning_curves(group, "trials", f"{workload}: best GFLOP/s vs trials", refs))
        page.chart(charts.tuning_curves(group, "tuning_s", f"{workload}: best GFLOP/s vs tuning time", refs))
        rows = []
        for (case, model), series in group.groupby(["case", "cost_model"], sort=True):
            series = series.sort_values("trials")
            last = series.iloc[-1]
            numpy = refs.get(f"NumPy {case}")
            passed = series[series["best_gflops"] >= numpy] if numpy else series.iloc[0:0]
            when = (f"{passed.iloc[0]['tuning_s']:.4g} s ({passed.iloc[0]['trials']:.0f} trials)" if len(passed)
                    else "not within the budget" if numpy else "no NumPy baseline")
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
    if report.ds.loaded.deploy:
        page.h2("Deployment footprint (runtime-only reload)", "deploy")
        page.add(table(["machine", "artifact", "cell", "variant", "bytes", "runtime-only / in-process latency",
                        "status"], [
            [d["machine"], d.get("artifact", ""), f"{d.get('workload', '')} {d.get('case', '')}",
             d.get("variant", ""), num(fmt(d.get("bytes"))), num(fmt(d.get("latency_ratio"))), d.get("status", "")]
            for d in report.ds.loaded.deploy]))
    return page


def _numpy_lines(report: Report, data: Any, machine: str, workload: str, cases: list[str]) -> dict[str, float]:
    """NumPy GFLOP/s per case: the tuning run's own baseline, else the newest NumPy record of the same cell."""
    refs = {}
    ok = report.ds.ok
    for case in cases:
        base = data[(data["kind"] == "baseline") & (data["machine"] == machine) & (data["workload"] == workload)
                    & (data["case"] == case) & (data["status"] == "ok")]
        if len(base):
            refs[f"NumPy {case}"] = float(base.iloc[-1]["best_gflops"])
            continue
        rec = ok[(ok["machine"] == machine) & (ok["workload"] == workload) & (ok["case"] == case)
                 & (ok["backend"] == "numpy")] if len(ok) else ok
        if len(rec) and rec.iloc[0].get("gflops"):
            refs[f"NumPy {case}"] = float(rec.iloc[0]["gflops"])
    return refs


def tag_pre(text: str) -> Raw:
    return Raw(f"<pre>{e(text.strip())}</pre>")


def roofline_page(report: Report) -> Page:
    page = Page("Roofline: how close each cell runs to this machine's limits")
    points, notes = roofline(report.ds)
    for machine, note in sorted(notes.items()):
        page.p(f"{machine}: {note}", "note")
    if points.empty:
        page.p("No roofline: no run carries a calibration (peak GFLOP/s and bandwidth) yet; fractions are n/a.")
        return page
    for machine, group in points.groupby("machine", sort=True):
        page.h2(machine, slug(machine))
        first = group.iloc[0]
        page.chart(charts.roofline_chart(group, float(first["peak_gflops"]), float(first["bandwidth_gbps"]),
                                         f"{machine}: attainable = min(peak, AI x bandwidth)"))
        page.add(table(["backend/variant", "cell", "FLOP/byte", "GFLOP/s", "attainable", "fraction", "calibration"], [
            [r["label"], f"{r['workload']} {r['case']}", num(fmt(r["ai"])), num(fmt(r["gflops"])),
             num(fmt(r["attainable_gflops"])), num(f"{r['fraction']:.1%}"), r["calibration"]]
            for r in group.sort_values(["workload", "case", "label"]).to_dict("records")]))
    return page


def compile_page(report: Report) -> Page:
    page = Page("Compile time vs latency, and the break-even")
    page.p(" ".join((break_even.__doc__ or "").split()), "note")
    page.p(" ".join((effective_compile.__doc__ or "").split()), "note")
    costs = effective_compile(report.ds)
    if costs.empty:
        page.p("No compile times recorded yet.", "note")
        return page
    ok = costs[costs["status"] == "ok"]
    for (machine, device), group in ok.groupby(["machine", "device"], sort=True):
        page.h2(f"{machine} ({device})", slug(f"{machine}-{device}"))
        page.chart(charts.compile_scatter(group, f"{machine}: compile + tuning vs median latency"))
    table_ = break_even(report.ds)
    if not table_.empty:
        page.h2("Break-even vs torch eager", "break-even")
        page.add(table(["cell", "backend/variant", "compile+tuning s", "tuning s", "latency", "eager compile s",
                        "eager latency", "break-even (inferences)"], [
            [link(f"{r['workload']} {r['case']}", workload_href(r["suite"], r["workload"], r["case"])), r["label"],
             num(fmt(r["compile_s"])), num(fmt(r["tuning_cost_s"])), num(fmt_s(r["latency_s"])),
             num(fmt(r["reference_compile_s"])), num(fmt_s(r["reference_latency_s"])), num(fmt(r["break_even"]))]
            for r in table_.sort_values(["suite", "workload", "case", "label"]).to_dict("records")]))
    return page


def failures_page(report: Report) -> Page:
    ds = report.ds
    page = Page("Failures: what did not compile, verify or run, and why")
    taxonomy = failure_taxonomy(ds)
    if taxonomy.empty:
        page.p("No records.", "note")
        return page
    statuses = [c for c in taxonomy.columns if c not in ("machine", "device", "label")]
    page.add(table(["machine", "device", "backend/variant", *statuses], [
        [r["machine"], r["device"], r["label"], *(Cell(r[s], "num" if s == "ok" or not r[s] else "num bad")
                                                  for s in statuses)]
        for r in taxonomy.to_dict("records")]))
    failed = ds.cur[ds.cur["status"] != "ok"].sort_values(["machine", "label", "workload", "case"])
    page.h2(f"Every failed cell ({len(failed)})", "cells")
    rows = []
    for r in failed.to_dict("records"):
        rows.append([r["machine"], r["label"], link(f"{r['workload']} {r['case']}",
                                                    workload_href(r["suite"], r["workload"], r["case"])),
                     Cell(r["status"], "bad"),
                     Raw(e(r["reason"]) + e(pre(r.get("traceback"), "traceback"))
                         + e(pre(r.get("stderr_tail"), "stderr tail")))])
    page.add(table(["machine", "backend/variant", "cell", "status", "reason"], rows, "failures"))
    return page


def environment_page(report: Report) -> Page:
    loaded = report.ds.loaded
    page = Page("Environment of every run")
    if loaded.problems:
        page.h2("Skipped lines", "problems")
        page.add(table(["problem"], [[p] for p in loaded.problems]))
    for run_id in sorted(loaded.manifests):
        m = loaded.manifests[run_id]
        page.add(Raw(f'<h2 id="{e(slug(run_id))}">{e(run_id)} ({e(loaded.run_machine.get(run_id, ""))})</h2>'))
        machine = m.get("machine") or {}
        page.add(table([], [
            ["created", m.get("created_utc", "")], ["command", m.get("command", "")],
            ["git", json.dumps(m.get("git", {}), sort_keys=True)], ["selection", json.dumps(m.get("selection", {}),
                                                                                            sort_keys=True)],
            ["status counts", json.dumps(m.get("status_counts", {}), sort_keys=True)],
            ["calibration", json.dumps(m.get("calibration"), sort_keys=True) if m.get("calibration") else "none"],
            *([k, json.dumps(v) if isinstance(v, list | dict) else v] for k, v in sorted(machine.items()))]))
        versions = m.get("versions") or {}
        threads = m.get("threads") or {}
        page.add(table(["backend", "versions", "threads", "thread knob"], [
            [b, ", ".join(f"{k} {v}" for k, v in sorted((versions.get(b) or {}).items())),
             (threads.get(b) or {}).get("threads", ""), (threads.get(b) or {}).get("knob", "")]
            for b in sorted(set(versions) | set(threads))]))
        page.add(pre(json.dumps({k: m.get(k) for k in ("options", "sessions", "variants")}, indent=1,
                                sort_keys=True), "options, sessions, variants"))
    return page
