"""The claims page: each claim's seed quote, query and rule, and its verdict on every machine."""

from __future__ import annotations

from analysis.html import Page, join, link, table, tag, verdict_badge
from analysis.links import PAGES, slug
from analysis.report import Report


def claims_page(report: Report) -> Page:
    page = Page("Claims registry")
    page.p("Each claim is quoted from a seed document, tested by the stated query on the newest records, and given "
           "a verdict by the stated rule. 'Inconclusive' includes 'no data yet'.", "note")
    state = report.ds.reproducibility
    page.p(join([f"A claim that something is faster must clear the run-to-run noise band, +-{100 * state.band:.1f}% "
                 f"({'measured on the newest pair of runs' if state.measured else 'the default: no pair measured'}"
                 "; see ", link("Reproducibility", PAGES["reproducibility"]),
                 "): a ratio whose whole CI lies inside it is no practical difference and refutes the claim; one "
                 "whose CI straddles its edge is inconclusive."]), "note")
    seen: set[str] = set()
    for result in report.claims:
        claim = result.claim
        if claim.id not in seen:
            seen.add(claim.id)
            page.add(tag("h2", claim.statement, id=slug(claim.id)))
            page.add(table([], [["id", claim.id], ["seed", claim.source], ["seed says", claim.quote],
                                      ["query", claim.query], ["rule", claim.rule], ["target", claim.target]],
                           "claim"))
        outcome = result.outcome
        estimate = outcome.estimate.fmt(unit=outcome.unit) if outcome.estimate else "-"
        evidence = join([link(text, href) for text, href in outcome.evidence], ", ")
        page.add(table(["machine", "verdict", "estimate [95% CI]", "measured", "evidence"], [
            [result.machine or "-", verdict_badge(outcome.verdict), estimate, outcome.detail, evidence]]))
    return page
