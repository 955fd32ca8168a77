"""Bootstrap statistics of latency ratios, shared by the aggregation, the claims and the ratings.

Each ok cell's warm-run samples are resampled once into 1000 (BOOT) medians, seeded by the cell's identity so that
every build is identical. A ratio of two cells at replicate b is median_a[b] / median_b[b], which is exactly an
independent resampling of both cells; a geometric mean over cells at replicate b gives the CI of the geomean the
same way.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOT = 1000  # resamples; the 2.5/97.5 percentiles of 1000 medians are stable to well under 1%
LEVEL = 0.95  # percentile intervals: the 2.5th and 97.5th percentiles of the replicates


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% percentile-bootstrap interval (lo == hi == value when nothing to resample)."""

    value: float
    lo: float
    hi: float
    n: int = 1  # how many cells it summarises

    def fmt(self, digits: int = 3, unit: str = "x") -> str:
        return f"{self.value:.{digits}g}{unit} [{self.lo:.{digits}g}, {self.hi:.{digits}g}]"


def boot_medians(samples: Sequence[float] | None, median: float, key: str) -> np.ndarray:
    """BOOT bootstrap medians of one cell's samples; a cell without samples gives its median BOOT times."""
    if samples is None or len(samples) < 2:
        return np.full(BOOT, float(median))
    x = np.asarray(samples, dtype=np.float64)
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    # Resampling indices in chunks keeps memory flat for cells with thousands of samples.
    out = np.empty(BOOT)
    chunk = max(1, 2_000_000 // x.size)
    for start in range(0, BOOT, chunk):
        stop = min(BOOT, start + chunk)
        out[start:stop] = np.median(x[rng.integers(0, x.size, size=(stop - start, x.size))], axis=1)
    return out


def interval(replicates: np.ndarray, value: float, n: int = 1) -> Estimate:
    alpha = (1.0 - LEVEL) / 2.0
    lo, hi = np.quantile(replicates, [alpha, 1.0 - alpha])
    return Estimate(float(value), float(lo), float(hi), n)


def ratio(numerator: tuple[float, np.ndarray], denominator: tuple[float, np.ndarray]) -> Estimate:
    """(median, replicates) of a over b: for latencies, baseline/backend is the backend's speedup."""
    (a, a_boot), (b, b_boot) = numerator, denominator
    return interval(a_boot / b_boot, a / b)


def geomean(pairs: Sequence[tuple[tuple[float, np.ndarray], tuple[float, np.ndarray]]]) -> Estimate | None:
    """Geometric mean over cells of numerator/denominator ratios, with its bootstrap CI; None for no cells."""
    if not pairs:
        return None
    logs = np.array([np.log(a_boot / b_boot) for (_, a_boot), (_, b_boot) in pairs])
    value = math.exp(float(np.mean([math.log(a / b) for (a, _), (b, _) in pairs])))
    return interval(np.exp(logs.mean(axis=0)), value, len(pairs))


def median_ratio_ci(a: Sequence[float], b: Sequence[float], key: str) -> Estimate | None:
    """Ratio of the medians of two sets of values (e.g. compile times over cells), cells resampled."""
    if len(a) == 0 or len(b) == 0:
        return None
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ma = np.median(xa[rng.integers(0, xa.size, size=(BOOT, xa.size))], axis=1)
    mb = np.median(xb[rng.integers(0, xb.size, size=(BOOT, xb.size))], axis=1)
    return interval(ma / mb, float(np.median(xa) / np.median(xb)), min(xa.size, xb.size))


def directional(estimate: Estimate | None, threshold: float = 1.0) -> str:
    """supported: the whole CI above the threshold; refuted: the whole CI below it; else inconclusive."""
    if estimate is None:
        return "inconclusive"
    if estimate.lo > threshold:
        return "supported"
    if estimate.hi < threshold:
        return "refuted"
    return "inconclusive"


def within_band(estimate: Estimate | None, low: float, high: float) -> str:
    """supported: the whole CI inside [low, high]; refuted: the whole CI outside it; else inconclusive."""
    if estimate is None:
        return "inconclusive"
    if low <= estimate.lo and estimate.hi <= high:
        return "supported"
    if estimate.hi < low or estimate.lo > high:
        return "refuted"
    return "inconclusive"
