"""Stock vs expert: what each backend gains when it runs the way its own experts run it.

For every backend that declares expert variants (backends/base.py: expert_variants; the settings table lists
them with their sources), per machine and suite: the cells where the baseline (torch eager), every stock variant and
every expert variant of the backend verified in one run. On those cells, each variant's geomean speedup over the
baseline with its CI; the best stock and the best expert variant; and the gap, the geomean of best-stock latency over
best-expert latency, with its CI. A gap inside the noise band is no practical difference. The gap is the measured
cost of not knowing a backend's settings: the seeds rate ease of use by opinion.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.dataset import Dataset
from analysis.html import Page, num, table
from analysis.links import slug
from analysis.report import Report
from backends import get_backend
from suites.stats import Estimate

BASELINE = "torch-eager"
SUITES = ("operators", "models")


@dataclass(frozen=True)
class Gap:
    machine: str
    suite: str
    backend: str
    cells: int
    stock: tuple[str, Estimate]  # the best stock label and its geomean speedup over the baseline
    expert: tuple[str, Estimate]
    gap: Estimate  # best-stock latency / best-expert latency, geomean over the cells


def _paths(backend: str, variants: set[str]) -> tuple[list[str], list[str]]:
    adapter = get_backend(backend)
    expert = [v for v in variants if v in adapter.expert_variants]
    stock = [v for v in variants if v not in adapter.expert_variants and v not in adapter.study_variants]
    return sorted(stock), sorted(expert)


def gaps(ds: Dataset) -> list[Gap]:
    out = []
    for (machine, device) in ds.scopes():
        for suite in SUITES:
            frame = ds.select(machine, device, suite)
            base = {(r["workload"], r["case"]): r for r in frame[frame["backend"] == BASELINE].to_dict("records")}
            for backend in sorted(set(frame["backend"]) - {BASELINE}):
                if not get_backend(backend).expert_variants:
                    continue
                mine = frame[frame["backend"] == backend]
                stock, expert = _paths(backend, set(mine["variant"]))
                if not stock or not expert:
                    continue
                by_variant = {v: {(r["workload"], r["case"]): r for r in mine[mine["variant"] == v].to_dict("records")}
                              for v in stock + expert}
                cells = sorted(k for k in base if all(k in by_variant[v] and by_variant[v][k]["run_id"]
                                                      == base[k]["run_id"] for v in stock + expert))
                if not cells:
                    continue
                speed = {v: ds.geomean([(base[k], by_variant[v][k]) for k in cells]) for v in stock + expert}
                best_stock = max(stock, key=lambda v: speed[v].value)  # type: ignore[union-attr]
                best_expert = max(expert, key=lambda v: speed[v].value)  # type: ignore[union-attr]
                gap = ds.geomean([(by_variant[best_stock][k], by_variant[best_expert][k]) for k in cells])
                assert gap is not None and speed[best_stock] is not None and speed[best_expert] is not None
                out.append(Gap(machine, suite, backend, len(cells), (best_stock, speed[best_stock]),
                               (best_expert, speed[best_expert]), gap))
    return out


def verdict(gap: Estimate, band: float) -> str:
    """expert faster / stock faster when the whole CI clears the noise band; no practical difference when it lies
    inside it; else inconclusive."""
    if gap.lo > 1.0 + band:
        return "expert faster"
    if gap.hi < 1.0 / (1.0 + band):
        return "stock faster"
    if 1.0 / (1.0 + band) <= gap.lo and gap.hi <= 1.0 + band:
        return "no practical difference"
    return "inconclusive"


def expert_page(report: Report) -> Page:
    page = Page("Stock vs expert: what each backend's own settings are worth")
    page.p(" ".join((__doc__ or "").split()), "note")
    found = gaps(report.ds)
    if not found:
        page.p("No run holds both a stock and an expert variant of a backend with torch eager yet.", "note")
        return page
    band = report.ds.band
    for machine in sorted({g.machine for g in found}):
        page.h2(machine, slug(machine))
        page.add(table(["suite", "backend", "cells", "best stock (speedup vs torch eager)",
                        "best expert (speedup vs torch eager)", "expert over stock [95% CI]", "verdict"], [
            [g.suite, g.backend, num(g.cells), f"{g.stock[0]}: {g.stock[1].fmt()}",
             f"{g.expert[0]}: {g.expert[1].fmt()}", num(g.gap.fmt()), verdict(g.gap, band)]
            for g in found if g.machine == machine]))
    return page
