"""How well the newest pair of comparable runs agree, and the noise band the verdicts respect.

Two runs are comparable when they measured the same suite on the same machine, device and precision and share
most of their ok cells (a rerun of one matrix). The newest such pair is compared with suites.compare; the spread
of its speedups between the two runs is the measured run-to-run noise. A difference smaller than that band is
"no practical difference", whatever its CI says, since a rerun would move it that much.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from suites.compare import Comparison, compare

DEFAULT_BAND = 0.05  # without a measured pair: the +-5% a careful reader allows anyway
BAND_LIMITS = (0.02, 0.30)
BAND_QUANTILE = 0.8  # the band holds 80% of the speedup changes between two runs
MIN_SHARED = 0.5  # two runs are a rerun pair when at least half of their ok cells are shared


@dataclass(frozen=True)
class Reproducibility:
    comparison: Comparison | None
    band: float
    measured: bool  # False: no pair of comparable runs, the band is DEFAULT_BAND

    @property
    def run_sd(self) -> float:
        """The machine's drift between runs beyond its processes' spread, measured on the pair (0 without one):
        every cell's CI is widened by it (suites.stats.median_replicates)."""
        return self.comparison.run_sd if self.comparison is not None else 0.0


def _as_record(row: dict[str, Any]) -> dict[str, Any]:
    timing: dict[str, Any] = {"median_s": row["median_s"], "samples_s": row.get("samples_s")}
    processes = row.get("processes")
    if isinstance(processes, list) and processes:
        timing["processes"] = [{"samples_s": list(p)} for p in processes]
    keys = ("run_id", "cell", "backend", "variant", "workload", "case", "status")
    return {**{k: row[k] for k in keys}, "timing": timing}


def latest_pair(records: pd.DataFrame) -> tuple[str, str] | None:
    """The newest two runs of one machine, suite, device and precision that share most of their ok cells."""
    if records.empty:
        return None
    ok = records[records["status"] == "ok"]
    cells = {run: set(group["cell"]) for run, group in ok.groupby("run_id")}
    keys = ok.groupby("run_id")[["machine", "suite", "device", "dtype"]].first()
    best: tuple[str, str] | None = None
    for _, group in keys.groupby(["machine", "suite", "device", "dtype"]):
        runs = sorted(group.index)  # run ids start with their UTC start time
        for a, b in itertools.pairwise(runs):
            shared = len(cells[a] & cells[b])
            if shared >= MIN_SHARED * max(len(cells[a]), len(cells[b])) and (best is None or b > best[1]):
                best = (a, b)
    return best


def speedup_noise(comparison: Comparison) -> float | None:
    """The BAND_QUANTILE of |change| of the speedups between the two runs (None without speedups)."""
    changes = [abs(np.log(p.b.value / p.a.value)) for p in comparison.speedups]
    return float(np.expm1(np.quantile(changes, BAND_QUANTILE))) if changes else None


def reproducibility(records: pd.DataFrame) -> Reproducibility:
    pair = latest_pair(records)
    if pair is None:
        return Reproducibility(None, DEFAULT_BAND, False)
    rows = {run: [_as_record(r) for r in records[records["run_id"] == run].to_dict("records")] for run in pair}
    comparison = compare(pair[0], rows[pair[0]], pair[1], rows[pair[1]])
    noise = speedup_noise(comparison)
    if noise is None:
        return Reproducibility(comparison, DEFAULT_BAND, False)
    low, high = BAND_LIMITS
    return Reproducibility(comparison, float(min(max(noise, low), high)), True)
