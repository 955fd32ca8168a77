"""The compile time vs latency page, and the break-even against torch eager."""

from __future__ import annotations

from analysis import charts
from analysis.compile_cost import break_even, effective_compile
from analysis.html import Page, fmt, fmt_s, link, num, table
from analysis.links import slug, workload_href
from analysis.report import Report


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
