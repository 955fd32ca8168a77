"""Timing statistics of a cell's warm runs, and the adaptive loop that collects them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class RepeatPolicy:
    """Warm runs continue until both minimums are reached, or a cap is hit (never fewer than `floor_runs`)."""

    min_runs: int = 10
    min_time_s: float = 1.0
    max_time_s: float = 10.0
    max_runs: int = 2000
    floor_runs: int = 3


QUICK_POLICY = RepeatPolicy(min_runs=5, min_time_s=0.2, max_time_s=3.0, max_runs=500)


def repeat(run: Callable[[], Any], policy: RepeatPolicy) -> list[float]:
    samples: list[float] = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        run()
        samples.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
        n = len(samples)
        if n >= policy.max_runs:
            break
        if n >= policy.min_runs and elapsed >= policy.min_time_s:
            break
        if n >= policy.floor_runs and elapsed >= policy.max_time_s:
            break
    return samples


def bootstrap_median_ci(samples: np.ndarray, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the median (seeded, so a record is reproducible)."""
    if samples.size == 1:
        return float(samples[0]), float(samples[0])
    rng = np.random.default_rng(seed)
    resampled = rng.choice(samples, size=(BOOTSTRAP_RESAMPLES, samples.size), replace=True)
    medians = np.median(resampled, axis=1)
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(medians, alpha)), float(np.quantile(medians, 1.0 - alpha))


def summarize(samples_s: list[float]) -> dict[str, Any]:
    """Distribution summary of warm-run times in seconds (the record's `timing` object)."""
    x = np.asarray(samples_s, dtype=np.float64)
    if x.size == 0:
        raise ValueError("no samples to summarize")
    q1, q3 = np.quantile(x, [0.25, 0.75])
    lo, hi = bootstrap_median_ci(x)
    return {
        "n": int(x.size),
        "median_s": float(np.median(x)),
        "mean_s": float(x.mean()),
        "stdev_s": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "min_s": float(x.min()),
        "max_s": float(x.max()),
        "p10_s": float(np.quantile(x, 0.10)),
        "p90_s": float(np.quantile(x, 0.90)),
        "q1_s": float(q1),
        "q3_s": float(q3),
        "iqr_s": float(q3 - q1),
        "ci95_median_s": [lo, hi],
        "total_s": float(x.sum()),
        "samples_s": [float(f"{v:.9g}") for v in x],
    }
