"""The reproducibility page: the newest pair of comparable runs side by side (python -m suites compare)."""

from __future__ import annotations

from analysis.html import Cell, Page, num, table
from analysis.report import Report
from analysis.reproducibility import BAND_QUANTILE, DEFAULT_BAND
from suites.compare import agreement

ROWS = 60


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def reproducibility_page(report: Report) -> Page:
    page = Page("Reproducibility: how far a rerun moves the numbers")
    state = report.ds.reproducibility
    c = state.comparison
    if c is None:
        page.p(f"No two comparable runs (same machine, suite, device and precision, most cells shared) are loaded, so "
               f"nothing was compared. Verdicts use the default noise band of +-{100 * DEFAULT_BAND:.0f}%.", "note")
        return page
    g = agreement(c)
    page.p(f"The newest pair of runs of one matrix: {c.run_a} then {c.run_b}. The same comparison runs from the "
           f"command line as `python -m suites compare {c.run_a} {c.run_b}`.")
    tau = "-" if g.kendall_tau is None else f"{g.kendall_tau:.2f}"
    page.add(table(["what", "agreement"], [
        ["cells ok in both runs", num(g.cells)],
        ["medians within +-5% / +-10%", f"{_pct(g.within_5)} / {_pct(g.within_10)}"],
        ["second run's median inside the first's 95% CI (and the other way)",
         f"{_pct(g.b_inside_a)} ({_pct(g.a_inside_b)})"],
        ["drift between the runs beyond their processes' spread (sd of log median, per run)",
         f"{100 * g.run_sd:.1f}%"],
        ["second run's median inside the first's CI widened by that drift (the report's intervals)",
         _pct(g.b_inside_a_with_drift)],
        [f"speedups over {c.baseline} within +-5%", f"{_pct(g.speedup_within_5)} of {g.speedups}"],
        ["second run's speedup inside the first's 95% CI", _pct(g.speedup_b_inside_a)],
        ["Kendall tau of the per-case rankings (mean over cases)", tau],
        ["same fastest backend", f"{g.same_winner} of {g.cases} cases (+{g.winner_ties} ties within the CIs)"],
    ]))
    source = "measured on this pair" if state.measured else "the default: the pair had no speedups"
    page.h2("The noise band of the verdicts", "band")
    page.p(f"+-{100 * state.band:.1f}% ({source}): {100 * BAND_QUANTILE:.0f}% of the speedups moved less than this "
           "between the two runs. A claim that one backend is faster is supported only when the whole CI of its "
           "ratio clears the band; a CI inside the band is no practical difference, and one that straddles its "
           "edge is inconclusive.")
    significant = sorted(c.significant(), key=lambda x: -abs(x.change.value - 1.0))
    page.h2(f"Cells that changed significantly ({len(significant)} of {g.cells})", "changes")
    page.p(f"A bootstrap test per cell, Benjamini-Hochberg corrected (q < {c.alpha:g}), and a change beyond "
           f"+-{100 * c.band:.0f}%. Many significant changes between two runs of the same matrix mean the CIs of one "
           "run do not include what a rerun sees.", "note")
    page.add(table(["cell", "first (ms)", "second (ms)", "second / first [95% CI]", "q"], [
        [x.cell, num(round(x.a.value * 1e3, 4)), num(round(x.b.value * 1e3, 4)),
         Cell(x.change.fmt(3), "num bad" if x.change.value > 1 else "num"), num(f"{x.q_value:.2g}")]
        for x in significant[:ROWS]], "changes"))
    if len(significant) > ROWS:
        page.p(f"... and {len(significant) - ROWS} more.", "note")
    return page
