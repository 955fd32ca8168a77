"""The roofline page: how close each cell runs to this machine's measured limits."""

from __future__ import annotations

import pandas as pd

from analysis import charts
from analysis import roofline as rules
from analysis.html import Page, fmt, num, table
from analysis.links import slug
from analysis.report import Report
from analysis.roofline import DRAM, roofline


def roofline_page(report: Report) -> Page:
    page = Page("Roofline: how close each cell runs to this machine's limits")
    points, notes = roofline(report.ds)
    page.p(" ".join((rules.__doc__ or "").split()), "note")
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
        page.add(table(["backend/variant", "cell", "FLOP/byte", "GFLOP/s", "attainable (DRAM roof)",
                        "fraction of the DRAM roof", "calibration"], [
            [r["label"], f"{r['workload']} {r['case']}", num(fmt(r["ai"])), num(fmt(r["gflops"])),
             num(fmt(r["attainable_gflops"])), num(_fraction(r)), r["calibration"]]
            for r in group.sort_values(["workload", "case", "label"]).to_dict("records")]))
    return page


def _fraction(point: dict) -> str:
    """A fraction only against the roof that applies (never above 100%); otherwise why there is none."""
    if point["ceiling"] == DRAM and not pd.isna(point["fraction"]):
        return f"{point['fraction']:.1%}"
    return point["ceiling"]
