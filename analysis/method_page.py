"""The method page: every rule the report applies, from the docstrings of the code that applies it."""

from __future__ import annotations

from analysis import aggregate, claims, compile_cost, dataset, load, roofline, settings_table, tuning
from analysis import flowchart as fc
from analysis.html import Page, table, tag
from analysis.links import slug
from analysis.report import Report
from analysis.seed_matrix import RULES
from suites import stats


def method_page(report: Report) -> Page:
    page = Page("Method: every rule the report applies")
    sections = [
        ("Which records", load.latest.__doc__), ("Which machine", load.select_generation.__doc__),
        ("Validation", load.__doc__), ("Comparing records", dataset.__doc__),
        ("Confidence intervals", stats.__doc__), ("Geometric means and coverage", aggregate.geomeans.__doc__),
        ("Compile and tuning cost", compile_cost.effective_compile.__doc__),
        ("Break-even", compile_cost.break_even.__doc__), ("Roofline", roofline.__doc__),
        ("Disturbed cells", load.disturbed.__doc__),
        ("Claims", claims.__doc__), ("Flowchart", fc.__doc__),
        ("Tuning curves (input format)", tuning.__doc__),
    ]
    for title, text in sections:
        page.h2(title, slug(title))
        if title == "Tuning curves (input format)":
            page.add(tag("pre", (text or "").strip()))
        else:
            page.p(" ".join((text or "").split()))
    page.h2("Settings of each variant, with sources", "settings")
    page.p(" ".join((settings_table.__doc__ or "").split()), "note")
    # Sources are cited as text without their scheme: the site opens from disk and loads nothing from the network.
    rows = [[cell.replace("https://", "").replace("http://", "") for cell in row]
            for row in settings_table.settings_rows()]
    page.add(table(settings_table.HEADER, rows, "settings"))
    page.h2("Matrix ratings", "ratings")
    page.add(table(["dimension", "rule"], sorted(RULES.items())))
    page.p("Speedups use the stored warm-run samples of each cell (timing.samples_s, or timing.processes when the "
           "cell ran in several processes); baselines are torch eager and NumPy. Status 'ok' means the output "
           "verified against the float64 reference.", "note")
    return page
