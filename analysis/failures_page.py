"""The failures page: what did not compile, verify or run, and why; and the cells measured on a disturbed machine."""

from __future__ import annotations

import pandas as pd

from analysis.aggregate import failure_taxonomy
from analysis.html import Cell, Page, Raw, e, link, num, pre, table
from analysis.links import workload_href
from analysis.load import disturbed
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
    disturbed_section(page, ds.cur)
    return page


def disturbed_section(page: Page, cur: pd.DataFrame) -> None:
    """The cells measured while something else loaded the machine (their numbers are kept, and flagged)."""
    flagged = cur[cur["disturbed"] == True] if "disturbed" in cur else cur.iloc[0:0]  # noqa: E712 (None = unknown)
    known = int(cur["disturbed"].notna().sum()) if "disturbed" in cur else 0
    page.h2(f"Disturbed cells ({len(flagged)} of {known} with a recorded load average)", "disturbed")
    page.p(" ".join((disturbed.__doc__ or "").split()), "note")
    if flagged.empty:
        return
    page.add(table(["machine", "backend/variant", "cell", "status", "threads", "load average (start, end)"], [
        [r["machine"], r["label"], link(f"{r['workload']} {r['case']}", workload_href(r["suite"], r["workload"],
                                                                                      r["case"])),
         Cell(r["status"], "bad"), num(r["threads"]), ", ".join(f"{v:.2f}" for v in r["load_avg"])]
        for r in flagged.sort_values(["machine", "label", "workload", "case"]).to_dict("records")], "disturbed"))
