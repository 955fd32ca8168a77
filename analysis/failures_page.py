"""The failures page: what did not compile, verify or run, and why; and the cells measured on a disturbed machine."""

from __future__ import annotations

from analysis.aggregate import failure_taxonomy
from analysis.html import Cell, Page, Raw, e, link, pre, table
from analysis.links import workload_href
from analysis.report import Report


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
