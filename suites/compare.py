"""Two runs side by side: how well the second reproduces the first, and which cells changed significantly.

The same comparison answers two questions. Reproducibility (the same code and machine, run twice): the share of
cells within +-5% and +-10%, how often one run's median falls inside the other's 95% CI, the agreement of the
per-case rankings (Kendall tau) and of the winners, all on medians and on speedups over the baseline. A/B (two
versions of a backend, two machines): a per-cell bootstrap test of the change with a Benjamini-Hochberg
false-discovery correction, and the table of significant changes. Ratios are formed inside each run only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import kendalltau

from suites.stats import (
    Estimate,
    interval,
    median_replicates,
    process_log_variance,
    record_key,
    run_to_run_sd,
    seed_of,
    timing_processes,
)

BASELINE = "torch-eager"
FALLBACK_BASELINE = "numpy"


@dataclass(frozen=True)
class CellChange:
    """One cell measured `ok` in both runs."""

    cell: str
    case: tuple[str, str]  # (workload, case): rankings and speedups are formed within it
    label: str  # backend/variant
    a: Estimate  # the median and its CI in each run
    b: Estimate
    change: Estimate  # b / a, with the bootstrap CI of the two runs' replicates
    p_value: float
    q_value: float = 1.0  # after the false-discovery correction over every compared cell
    # The first run's CI widened by the drift this pair measured (Comparison.run_sd): circular for this pair, it
    # shows what the CI of a run on this machine must hold; the analysis widens by an earlier pair's drift.
    a_with_drift: Estimate | None = None

    @property
    def b_inside_a_with_drift(self) -> bool:
        band = self.a_with_drift or self.a
        return band.lo <= self.b.value <= band.hi

    @property
    def b_inside_a(self) -> bool:
        return self.a.lo <= self.b.value <= self.a.hi

    @property
    def a_inside_b(self) -> bool:
        return self.b.lo <= self.a.value <= self.b.hi


@dataclass(frozen=True)
class SpeedupPair:
    """A label's speedup over the baseline of its case, formed inside each run."""

    case: tuple[str, str]
    label: str
    a: Estimate
    b: Estimate


@dataclass(frozen=True)
class Comparison:
    run_a: str
    run_b: str
    cells: tuple[CellChange, ...]
    speedups: tuple[SpeedupPair, ...]
    baseline: str
    only_a: tuple[str, ...]  # cells ok in one run only: shown, never compared
    only_b: tuple[str, ...]
    alpha: float = 0.05
    band: float = 0.05  # a change inside +-band is "no practical difference", whatever its p-value
    # The machine's drift between the two runs beyond their processes' spread (suites.stats.run_to_run_sd).
    run_sd: float = 0.0

    def significant(self) -> list[CellChange]:
        return [c for c in self.cells if c.q_value < self.alpha and abs(c.change.value - 1.0) > self.band
                and (c.change.lo > 1.0 or c.change.hi < 1.0)]


def _share(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return sum(values) / len(values) if values else None


def _within(values: Iterable[float], tolerance: float) -> float | None:
    return _share(abs(v - 1.0) <= tolerance for v in values)


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """q-values: the smallest false-discovery rate at which each test is declared significant."""
    n = len(p_values)
    if n == 0:
        return []
    order = np.argsort(p_values)
    ranked = np.asarray(p_values, dtype=np.float64)[order] * n / np.arange(1, n + 1)
    q_sorted = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    q = np.empty(n)
    q[order] = q_sorted
    return [float(v) for v in q]


def _two_sided_p(ratio_replicates: np.ndarray) -> float:
    """Bootstrap p-value of "no change": twice the smaller share of replicates on either side of 1."""
    below = float(np.mean(ratio_replicates < 1.0))
    above = float(np.mean(ratio_replicates > 1.0))
    return min(1.0, 2.0 * min(below, above) + 1.0 / ratio_replicates.size)


def cell_replicates(record: dict[str, Any]) -> np.ndarray:
    """The cell's rerun replicates (suites.stats.median_replicates), seeded by its key."""
    timing = record["timing"]
    return median_replicates(timing_processes(timing), record_key(record.get("run_id", ""), record["cell"]),
                             timing["median_s"])


def _change_replicates(reps_a: np.ndarray, reps_b: np.ndarray, ma: float, mb: float, run_sd: float) -> np.ndarray:
    """Replicates of median b / median a for the test of a change. Rerun replicates already spread each run by
    sqrt(2) times its own uncertainty (this run and a rerun), so their log difference is scaled back by sqrt(2);
    both runs' drift (run_sd each) is then added."""
    rng = np.random.default_rng(seed_of(f"{ma!r}/{mb!r}"))
    own = (np.log(reps_b / reps_a) - math.log(mb / ma)) / math.sqrt(2.0)
    return (mb / ma) * np.exp(own + rng.standard_normal(own.size) * run_sd * math.sqrt(2.0))


def _ok_by_cell(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["cell"]: r for r in records if r.get("status") == "ok"}


def _label(record: dict[str, Any]) -> str:
    return f"{record['backend']}/{record['variant']}"


def _speedups(cells: dict[str, dict[str, Any]], reps: dict[str, np.ndarray], baseline: str
              ) -> dict[tuple[tuple[str, str], str], Estimate]:
    base = {(r["workload"], r["case"]): key for key, r in cells.items() if r["backend"] == baseline}
    out = {}
    for key, r in cells.items():
        case = (r["workload"], r["case"])
        if case in base and r["backend"] != baseline:
            b = cells[base[case]]
            out[(case, _label(r))] = interval(reps[base[case]] / reps[key],
                                              b["timing"]["median_s"] / r["timing"]["median_s"])
    return out


def compare(run_a: str, records_a: Iterable[dict[str, Any]], run_b: str, records_b: Iterable[dict[str, Any]],
            baseline: str = "", alpha: float = 0.05, band: float = 0.05) -> Comparison:
    a, b = _ok_by_cell(records_a), _ok_by_cell(records_b)
    both = sorted(set(a) & set(b))
    reps_a = {key: cell_replicates(r) for key, r in a.items()}
    reps_b = {key: cell_replicates(r) for key, r in b.items()}
    run_sd = run_to_run_sd(
        [math.log(b[k]["timing"]["median_s"] / a[k]["timing"]["median_s"]) for k in both],
        [process_log_variance(timing_processes(a[k]["timing"])) + process_log_variance(timing_processes(b[k]["timing"]))
         for k in both])
    changes, p_values = [], []
    for key in both:
        ra, rb = a[key], b[key]
        ma, mb = ra["timing"]["median_s"], rb["timing"]["median_s"]
        ratio = _change_replicates(reps_a[key], reps_b[key], ma, mb, run_sd)
        p_values.append(_two_sided_p(ratio))
        drift = np.exp(np.random.default_rng([seed_of(key), 3]).standard_normal(ratio.size) * run_sd * math.sqrt(2))
        changes.append(CellChange(key, (ra["workload"], ra["case"]), _label(ra), interval(reps_a[key], ma),
                                  interval(reps_b[key], mb), interval(ratio, mb / ma), p_values[-1],
                                  a_with_drift=interval(reps_a[key] * drift, ma)))
    cells = tuple(CellChange(**{**c.__dict__, "q_value": q}) for c, q in zip(changes, benjamini_hochberg(p_values),
                                                                            strict=True))
    backends = {r["backend"] for r in [*a.values(), *b.values()]}
    chosen = baseline or (BASELINE if BASELINE in backends else FALLBACK_BASELINE)
    sa, sb = _speedups(a, reps_a, chosen), _speedups(b, reps_b, chosen)
    pairs = tuple(SpeedupPair(k[0], k[1], sa[k], sb[k]) for k in sorted(set(sa) & set(sb)))
    return Comparison(run_a, run_b, cells, pairs, chosen, tuple(sorted(set(a) - set(b))),
                      tuple(sorted(set(b) - set(a))), alpha, band, run_sd)


@dataclass(frozen=True)
class Agreement:
    """The reproducibility figures of a comparison (None where nothing was comparable)."""

    cells: int
    within_5: float | None
    within_10: float | None
    b_inside_a: float | None
    a_inside_b: float | None
    b_inside_a_with_drift: float | None
    run_sd: float
    speedups: int
    speedup_within_5: float | None
    speedup_b_inside_a: float | None
    kendall_tau: float | None  # mean over cases with at least two labels in both runs
    cases: int
    same_winner: int
    winner_ties: int  # cases whose winners differ but whose two fastest labels' CIs overlap in both runs

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _rankings(cells: tuple[CellChange, ...]) -> dict[tuple[str, str], list[CellChange]]:
    by_case: dict[tuple[str, str], list[CellChange]] = {}
    for c in cells:
        by_case.setdefault(c.case, []).append(c)
    return by_case


def _tied(first: Estimate, second: Estimate) -> bool:
    return first.hi >= second.lo and second.hi >= first.lo


def agreement(comparison: Comparison) -> Agreement:
    cells = comparison.cells
    taus, same, ties = [], 0, 0
    cases = _rankings(cells)
    for group in cases.values():
        if len(group) >= 2:
            tau = kendalltau([c.a.value for c in group], [c.b.value for c in group]).statistic
            if not np.isnan(tau):
                taus.append(float(tau))
        win_a = min(group, key=lambda c: c.a.value)
        win_b = min(group, key=lambda c: c.b.value)
        if win_a.label == win_b.label:
            same += 1
        elif _tied(win_a.a, win_b.a) and _tied(win_a.b, win_b.b):
            ties += 1
    pairs = comparison.speedups
    return Agreement(
        cells=len(cells), within_5=_within((c.change.value for c in cells), 0.05),
        within_10=_within((c.change.value for c in cells), 0.10),
        b_inside_a=_share(c.b_inside_a for c in cells), a_inside_b=_share(c.a_inside_b for c in cells),
        b_inside_a_with_drift=_share(c.b_inside_a_with_drift for c in cells), run_sd=comparison.run_sd,
        speedups=len(pairs), speedup_within_5=_within((p.b.value / p.a.value for p in pairs), 0.05),
        speedup_b_inside_a=_share(p.a.lo <= p.b.value <= p.a.hi for p in pairs),
        kendall_tau=float(np.mean(taus)) if taus else None, cases=len(cases), same_winner=same, winner_ties=ties)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def format_comparison(comparison: Comparison, limit: int = 40) -> str:
    """The text report of `python -m suites compare`."""
    g = agreement(comparison)
    tau = "-" if g.kendall_tau is None else f"{g.kendall_tau:.2f}"
    lines = [
        f"{comparison.run_a} -> {comparison.run_b}: {g.cells} cells ok in both"
        f" ({len(comparison.only_a)} only in the first, {len(comparison.only_b)} only in the second)",
        f"medians:  within +-5% {_pct(g.within_5)}, within +-10% {_pct(g.within_10)};"
        f" second inside first's 95% CI {_pct(g.b_inside_a)}, first inside second's {_pct(g.a_inside_b)}",
        f"drift between the runs beyond their processes' spread: {100 * g.run_sd:.1f}% per run (sd of log median);"
        f" second inside first's CI widened by it {_pct(g.b_inside_a_with_drift)}",
        f"speedups over {comparison.baseline} ({g.speedups}): within +-5% {_pct(g.speedup_within_5)},"
        f" second inside first's 95% CI {_pct(g.speedup_b_inside_a)}",
        f"rankings: Kendall tau {tau} (mean over cases); same winner in {g.same_winner} of {g.cases} cases"
        f" (+{g.winner_ties} ties within the CIs)",
    ]
    significant = sorted(comparison.significant(), key=lambda c: -abs(np.log(c.change.value)))
    lines.append(f"significant changes (q < {comparison.alpha:g}, beyond +-{100 * comparison.band:.0f}%):"
                 f" {len(significant)} of {g.cells}")
    if significant:
        lines.append(f"  {'cell':<58} {'first':>10} {'second':>10} {'second/first':>22} {'q':>8}")
        for c in significant[:limit]:
            lines.append(f"  {c.cell:<58} {c.a.value * 1e3:>8.3g}ms {c.b.value * 1e3:>8.3g}ms "
                         f"{c.change.fmt(3):>22} {c.q_value:>8.2g}")
        if len(significant) > limit:
            lines.append(f"  ... and {len(significant) - limit} more")
    return "\n".join(lines)
