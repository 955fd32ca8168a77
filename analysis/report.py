"""Everything the site and the summaries show, computed once from results/, and the text and Markdown summaries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.aggregate import BASELINES, SUITES, GeomeanRow, geomeans, speedups
from analysis.claim_types import ClaimResult
from analysis.claims import evaluate
from analysis.dataset import Dataset
from analysis.llm import LLM_BASELINE, LLM_SUITE
from analysis.load import committed_files, load_results
from analysis.registry import REGISTRY
from analysis.seed_matrix import EXTRA_SYSTEMS, SEED_MATRIX, SYSTEMS, Rating, difference, measured_matrix, stars_text


@dataclass
class Report:
    ds: Dataset
    results_dir: Path
    claims: list[ClaimResult]
    matrix: dict[str, dict[str, Rating]]
    speedups: dict[str, pd.DataFrame]  # baseline -> one row per (cell, label)

    @property
    def suites(self) -> list[str]:
        present = set(self.ds.cur["suite"]) if len(self.ds.cur) else set()
        return [s for s in SUITES if s in present] + sorted(present - set(SUITES))

    def geomeans(self, machine: str, device: str, suite: str, baseline: str) -> list[GeomeanRow]:
        return geomeans(self.ds, machine, device, (suite,), baseline)[0]


def build_report(results_dir: Path, run_ids: list[str] | None = None, committed: bool = False,
                 machine: str | None = None) -> Report:
    """Everything the report shows, for the runs of one CPU generation (`machine`: see load.select_generation)."""
    allowed = committed_files(results_dir) if committed and results_dir.is_dir() else None
    ds = Dataset(load_results(results_dir, run_ids, allowed, machine))
    return Report(ds, results_dir, evaluate(ds, REGISTRY), measured_matrix(ds),
                  {b: speedups(ds, b) for b in BASELINES})


def _headline(report: Report) -> list[tuple[str, str, str, list[GeomeanRow]]]:
    """(scope text, suite, baseline, rows) for every suite on every machine, vs torch eager where it ran."""
    out = []
    for machine, device in report.ds.scopes():
        for suite in report.suites:
            for baseline in (LLM_BASELINE,) if suite == LLM_SUITE else BASELINES:
                rows = report.geomeans(machine, device, suite, baseline)
                if any(r.own for r in rows):
                    out.append((f"{machine}/{device}", suite, baseline, rows))
                    break
    return out


def _estimate_text(row: GeomeanRow) -> str:
    if row.ranked and row.common:
        return row.common.fmt()
    if row.own:
        return f"{row.own.fmt()} (own cells, unranked)"
    return "no cell ran" if not row.ok_cells else "no cell in the baseline's run"


def text_summary(report: Report, site: Path | None = None) -> str:
    ds = report.ds
    lines = [f"mlcompare report: {len(ds.all)} records in {len(ds.loaded.manifests)} runs "
             f"({ds.cur['machine'].nunique() if len(ds.cur) else 0} machine(s), CPU generation "
             f"{ds.loaded.generation or 'none'}); newest record per cell: {len(ds.cur)}"]
    if ds.loaded.problems:
        lines.append(f"skipped {len(ds.loaded.problems)} malformed line(s):")
        lines.extend(f"  {p}" for p in ds.loaded.problems[:20])
    for scope, suite, baseline, rows in _headline(report):
        lines.append(f"\n{suite} on {scope}: geomean speedup vs {baseline} [95% CI], common set rule")
        ranked = sorted(rows, key=lambda r: -(r.common.value if r.ranked and r.common else 0))
        width = max(len(r.label) for r in ranked)
        lines.extend(f"  {r.label:<{width}}  {_estimate_text(r):<34} {r.ok_cells}/{r.total} cells" for r in ranked)
    lines.append("\nclaims (verdict: estimate [95% CI]):")
    for r in report.claims:
        where = f" [{r.machine}]" if r.machine else ""
        lines.append(f"  {r.outcome.verdict:<12} {r.claim.id}{where}: {r.outcome.detail}")
    if site is not None:
        lines.append(f"\nsite: {site / 'index.html'}")
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def markdown(report: Report) -> str:
    ds = report.ds
    out = ["# mlcompare report", "",
           f"{len(ds.all)} records in {len(ds.loaded.manifests)} runs; newest record per cell: {len(ds.cur)}; "
           f"skipped lines: {len(ds.loaded.problems)}.", ""]
    for scope, suite, baseline, rows in _headline(report):
        out += [f"## {suite} on {scope}: geomean speedup vs {baseline}", "", "| backend | geomean [95% CI] | cells |",
                "|---|---|---|"]
        for r in sorted(rows, key=lambda r: -(r.common.value if r.ranked and r.common else 0)):
            out.append(f"| {_md_escape(r.label)} | {_md_escape(_estimate_text(r))} | {r.ok_cells}/{r.total} |")
        out.append("")
    out += ["## Claims", "", "| claim | verdict | measured | seed |", "|---|---|---|---|"]
    for r in report.claims:
        out.append(f"| {_md_escape(r.claim.statement)} | **{r.outcome.verdict}** | {_md_escape(r.outcome.detail)} | "
                   f"{r.claim.source} |")
    systems = (*SYSTEMS, *EXTRA_SYSTEMS)
    out += ["", "## Comparison matrix (seed -> measured)", "", "| dimension | " + " | ".join(systems) + " |",
            "|---|" + "---|" * len(systems)]
    for dimension in SEED_MATRIX:
        cells = []
        for system in systems:
            seed = SEED_MATRIX[dimension].get(system)
            seed_text = stars_text(seed[0]) if isinstance(seed, tuple) else (seed or "-")
            rating = report.matrix[dimension].get(system)
            measured = stars_text(rating.stars) if rating and rating.stars is not None else (
                "not measured" if rating and rating.kind == "not-measured" else "-")
            diff = difference(dimension, system, rating)
            cells.append(f"{seed_text} -> {measured}" + (f" ({diff:+d})" if diff else ""))
        out.append(f"| {dimension} | " + " | ".join(_md_escape(c) for c in cells) + " |")
    return "\n".join(out) + "\n"
