"""The loaded runs as the analysis sees them: the newest record of every cell, and the one rule for comparing two
records: a ratio (speedup, geomean term, ladder step) is only ever formed from two records of the same run.

Runs differ in machine load, frequency and software; a ratio across two runs would measure those too. Where the
newest records of two cells come from different runs, no ratio is formed and the comparison is shown missing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from analysis.load import LoadedResults, latest
from analysis.reproducibility import Reproducibility, reproducibility
from suites.stats import Estimate, Sample, geomean, interval, median_replicates, ratio, record_key

REFUSED = ("unsupported", "unavailable")  # declined before running (no device, no support): nothing was measured
Row = dict[str, Any]
Pair = tuple[Row, Row]


def label_of(backend: str, variant: str) -> str:
    return backend if variant == "default" else f"{backend}/{variant}"


def target_of(device: str) -> str:
    """cpu, or gpu for any accelerator device (cuda, rocm, ...)."""
    return "cpu" if str(device).startswith("cpu") else "gpu"


def same_run(pairs: Iterable[Pair]) -> list[Pair]:
    """The pairs whose two records come from one run (the only pairs a ratio may be formed from)."""
    return [(a, b) for a, b in pairs if a["run_id"] == b["run_id"]]


def fastest_in_one_run(xs: list[Row], ys: list[Row]) -> Pair | None:
    """The fastest x and the fastest y of the newest run holding both (None when no run holds both)."""
    runs = sorted({r["run_id"] for r in xs} & {r["run_id"] for r in ys})
    if not runs:
        return None
    x = min((r for r in xs if r["run_id"] == runs[-1]), key=lambda r: r["median_s"])
    y = min((r for r in ys if r["run_id"] == runs[-1]), key=lambda r: r["median_s"])
    return x, y


def _processes(row: Any) -> list[Any]:
    """A row's per-process samples, or its samples as one process (older records)."""
    processes = row.get("processes")
    if isinstance(processes, list):
        return processes
    return [row["samples_s"]] if isinstance(row.get("samples_s"), list) else []


class Dataset:
    """The loaded runs, the newest record of every cell, and a cache of bootstrap medians."""

    def __init__(self, loaded: LoadedResults) -> None:
        self.loaded = loaded
        self.all = loaded.records
        self.cur = latest(loaded.records)
        if len(self.cur):
            self.cur = self.cur.assign(label=[label_of(b, v) for b, v in zip(self.cur["backend"], self.cur["variant"],
                                                                              strict=True)],
                                       target=[target_of(d) for d in self.cur["device"]])
        self._boot: dict[tuple[str, str], np.ndarray] = {}

    @cached_property
    def reproducibility(self) -> Reproducibility:
        """The newest pair of comparable runs, compared (analysis/reproducibility.py)."""
        return reproducibility(self.all)

    @property
    def band(self) -> float:
        """The run-to-run noise band every "faster" verdict must clear."""
        return self.reproducibility.band

    @cached_property
    def ok(self) -> pd.DataFrame:
        if self.cur.empty:
            return self.cur
        return self.cur[self.cur["status"] == "ok"]

    def subset(self, keep: Any) -> Dataset:
        """The same runs with only some current records (a boolean mask over `cur`); the bootstrap cache is shared."""
        sub = copy.copy(self)
        sub.cur = self.cur[keep]
        sub.__dict__.pop("ok", None)
        return sub

    def scopes(self, target: str | None = None) -> list[tuple[str, str]]:
        """(machine, device) pairs present, optionally only cpu or gpu ones."""
        if self.cur.empty:
            return []
        pairs = self.cur[["machine", "device"]].drop_duplicates().itertuples(index=False)
        return sorted((m, d) for m, d in pairs if target is None or target_of(d) == target)

    def sample(self, row: Any) -> Sample:
        """(median, bootstrap medians) of an ok record (a pandas row or dict), hierarchical over its processes."""
        key = (row["run_id"], row["cell"])
        if key not in self._boot:
            self._boot[key] = median_replicates(_processes(row), record_key(*key), float(row["median_s"]))
        return float(row["median_s"]), self._boot[key]

    def median_interval(self, row: Any) -> Estimate:
        """An ok record's median with its 95% CI as the report shows it: a rerun interval widened by the machine's
        measured drift between runs. Ratios within a run (`sample`, `ratio`, `geomean`) are not widened: a drift of
        the whole machine moves both cells of a ratio alike, and their own rerun replicates already held 98-99% of
        a second run's speedups on the committed pairs."""
        median = float(row["median_s"])
        replicates = median_replicates(_processes(row), record_key(row["run_id"], row["cell"]), median,
                                       self.reproducibility.run_sd)
        return interval(replicates, median)

    def ratio(self, numerator: Row, denominator: Row) -> Estimate | None:
        """median(numerator) / median(denominator) with its CI; None when the records come from different runs."""
        if numerator["run_id"] != denominator["run_id"]:
            return None
        return ratio(self.sample(numerator), self.sample(denominator))

    def geomean(self, pairs: Iterable[Pair]) -> Estimate | None:
        """Geomean of numerator/denominator over the pairs from one run (pairs across runs are left out)."""
        return geomean([(self.sample(a), self.sample(b)) for a, b in same_run(pairs)])

    def select(self, machine: str, device: str, suite: str | None = None, ok: bool = True) -> pd.DataFrame:
        frame = self.ok if ok else self.cur
        if frame.empty:
            return frame
        mask = (frame["machine"] == machine) & (frame["device"] == device)
        if suite is not None:
            mask &= frame["suite"] == suite
        return frame[mask]
