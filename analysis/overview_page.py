"""The overview page: headline verdicts, the seed's comparison matrix against the measured one, the decision
flowcharts and the headline geomeans."""

from __future__ import annotations

from collections import Counter

from analysis import charts
from analysis.flowchart import draw
from analysis.html import VERDICT_CLASS, Cell, Page, Raw, e, join, link, table, tag, verdict_badge
from analysis.links import claim_href
from analysis.report import Report
from analysis.seed_matrix import EXTRA_SYSTEMS, RULES, SEED, SEED_MATRIX, SYSTEMS, difference, primary_scope, stars_text


def overview(report: Report) -> Page:
    ds = report.ds
    page = Page("Overview: the seeds' claims, checked against measurements")
    generation = f", CPU generation {ds.loaded.generation}" if ds.loaded.generation else ""
    page.p(f"{len(ds.all)} records from {len(ds.loaded.manifests)} runs on "
           f"{ds.cur['machine'].nunique() if len(ds.cur) else 0} machine(s){generation} under "
           f"{report.results_dir.name}/; the newest record of each cell is used ({len(ds.cur)} cells), and a ratio "
           "is only formed from two records of the same run. Every rating, verdict and flowchart edge below is "
           "computed from these records by the rules on the method page.")
    if ds.loaded.problems:
        page.p(f"{len(ds.loaded.problems)} malformed line(s) were skipped (listed on the environment page).", "note")
    counts = Counter(r.outcome.verdict for r in report.claims)
    page.h2("Headline verdicts", "verdicts")
    page.p(join([f"{counts.get(v, 0)} {v}" for v in ("supported", "refuted", "inconclusive")], ", "))
    page.add(table(["claim", "verdict", "measured"], [
        [link(r.claim.statement, claim_href(r.claim.id)), verdict_badge(r.outcome.verdict), r.outcome.detail]
        for r in report.claims]))
    page.h2("Comparison matrix: seed stars vs measured stars", "matrix")
    page.p(f"Seed ratings from {SEED} (\"2. Comparison Matrix\"); MLIR is measured through IREE, its deployment "
           "compiler; Inductor is measured but was not rated by the seed. Green: measured above the seed; red: below."
           " Hover a cell for the measurement behind it.", "note")
    page.add(matrix_table(report))
    for target in ("cpu", "gpu"):
        page.h2(f"Decision flowchart, {target.upper()}", f"flowchart-{target}")
        if not ds.scopes(target):
            page.p(f"No {target.upper()} results under results/: this flowchart is drawn once they exist.", "note")
            continue
        page.add(flowchart(report, target))
    scope = primary_scope(ds, "cpu") or primary_scope(ds, "gpu")
    if scope:
        for suite in report.suites:
            rows = report.geomeans(*scope, suite, "torch-eager")
            if any(r.own for r in rows):
                page.h2(f"{suite.capitalize()}: geomean speedup vs torch eager on {scope[0]}", f"geomean-{suite}")
                page.chart(charts.geomean_bars(rows, f"{suite}: speedup vs torch eager (95% CI)"))
    return page


def matrix_table(report: Report) -> Raw:
    systems = (*SYSTEMS, *EXTRA_SYSTEMS)
    rows = []
    for dimension in SEED_MATRIX:
        row: list[object] = [Raw(f"{e(dimension)}<br><span class=\"note\">{e(RULES.get(dimension, ''))}</span>")]
        for system in systems:
            seed = SEED_MATRIX[dimension].get(system)
            if isinstance(seed, tuple):
                seed_text = stars_text(seed[0]) + (f" ({seed[1]})" if seed[1] else "")
            else:
                seed_text = seed or "not rated"
            rating = report.matrix[dimension].get(system)
            diff = difference(dimension, system, rating)
            cls = "" if not diff else ("up" if diff > 0 else "down")
            if rating is None:
                measured = Raw("")
            elif rating.stars is not None:
                measured = tag("a", stars_text(rating.stars), href=rating.href) if rating.href else stars_text(
                    rating.stars)
            else:
                measured = tag("span", rating.note if rating.kind == "descriptive" else rating.kind.replace("-", " "),
                               class_="note")
            diff_text = f" ({diff:+d})" if diff else ""
            row.append(Cell(Raw(f"seed: {e(seed_text)}<br>measured: {e(measured)}{e(diff_text)}"), cls,
                            rating.note if rating else ""))
        rows.append(row)
    return table(["dimension (rule)", *systems], rows, "matrix")


def flowchart(report: Report, target: str) -> Raw:
    parts = []
    for edge in draw(report.ds, report.claims, target):
        links = join([link(text, href) for text, href in edge.links], ", ")
        measured = f"<br><b>measured:</b> {e(edge.measured_choice)}" if edge.measured_choice else ""
        parts.append(
            f'<div class="cond">{e(edge.condition)}</div><div class="arrow">&rarr;</div>'
            f'<div class="choice {e(VERDICT_CLASS.get(edge.verdict, "na"))}">'
            f"{e(edge.choice)}<br>{e(verdict_badge(edge.verdict))}{measured}</div>"
            f'<div class="why">{e(edge.note)} {e(links)}</div>')
    return Raw(f'<div class="flow" id="flow-{e(target)}">' + "".join(parts) + "</div>")
