"""The one statistics module of mlcompare: the warm-run loop, a cell's timing summary, and the bootstrap the runner
and the analysis share.

Bootstrap: RESAMPLES (2000) percentile resamples of a cell's median, seeded by the cell's key (crc32 of it; a key
of "" gives seed 0), so every record and every report build is identical. A cell measured in several processes
(`timing["processes"]`, each with its own `samples_s`) is resampled hierarchically: the processes are drawn with
replacement, then the samples within each drawn process, so the variation between processes (placement, frequency,
memory layout) enters the interval; a record without `processes` is one process. A ratio of two cells at replicate
b is median_a[b] / median_b[b], an independent resampling of both; a geometric mean over cells at replicate b gives
the CI of the geomean the same way. Intervals are the 2.5th and 97.5th percentiles of the replicates.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RESAMPLES = 2000
LEVEL = 0.95
_CHUNK_ELEMENTS = 2_000_000  # resample in chunks so a cell with many samples keeps memory flat


@dataclass(frozen=True)
class RepeatPolicy:
    """Warm runs continue until at least `min_runs` and `min_time_s` (both); after `min_time_s`, `max_runs` may also
    stop them; `max_time_s` is the safety stop (never before `floor_runs`). The run cap never stops a cell short of
    `min_time_s`: the documented minimum time of warm runs always holds unless `max_time_s` is reached first."""

    # Per process: a cell runs in several (3 by default), so it gets 1.5 s of warm runs in all.
    min_runs: int = 10
    min_time_s: float = 0.5
    max_time_s: float = 5.0
    max_runs: int = 1000
    floor_runs: int = 3

    def done(self, n: int, elapsed_s: float) -> bool:
        """Whether `n` warm runs taking `elapsed_s` seconds in all are enough. Samples never exceed ten times
        `max_runs`, so a record stays small (CPU cells batch fast calls instead: calibrate_loops)."""
        if n >= 10 * self.max_runs:
            return True
        if elapsed_s >= self.max_time_s:
            return n >= self.floor_runs
        return elapsed_s >= self.min_time_s and n >= min(self.min_runs, self.max_runs)


QUICK_POLICY = RepeatPolicy(min_runs=5, min_time_s=0.1, max_time_s=1.5, max_runs=250)


def calibrate_loops(run: Callable[[], Any], policy: RepeatPolicy, calls: int = 3) -> int:
    """Calls per timed sample, so that `policy.min_time_s` of warm runs holds at most about `max_runs` samples.

    A kernel of a few microseconds would otherwise store a million samples per record. Like pyperf's loops, a
    sample of such a kernel is the mean of `loops` back-to-back calls; cells slower than min_time_s / max_runs
    (0.5 ms by default) keep one call per sample. The calibration calls are warm runs that are not kept.
    """
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    per_call = max(float(np.median(times)), 1e-9)
    return max(1, math.ceil(policy.min_time_s / policy.max_runs / per_call))


def repeat(run: Callable[[], Any], policy: RepeatPolicy, loops: int = 1) -> list[float]:
    """Time warm runs of `run` with perf_counter until `policy` is satisfied; each sample is the mean time of
    `loops` consecutive calls (see calibrate_loops)."""
    samples: list[float] = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        for _ in range(loops):
            run()
        samples.append((time.perf_counter() - t0) / loops)
        if policy.done(len(samples), time.perf_counter() - start):
            return samples


def record_key(run_id: str, cell: str) -> str:
    """The bootstrap key of a record: the runner's summary and every analysis of it draw the same resamples."""
    return f"{run_id}/{cell}"


def seed_of(key: str) -> int:
    """The bootstrap seed of a cell: crc32 of its key (stable across processes, unlike hash())."""
    return zlib.crc32(key.encode())


def timing_processes(timing: Mapping[str, Any] | None) -> list[list[float]]:
    """The per-process samples of a record's timing: `processes[*].samples_s`, else `samples_s` as one process."""
    if not timing:
        return []
    processes = timing.get("processes")
    if isinstance(processes, list) and processes:
        return [list(p["samples_s"]) for p in processes if isinstance(p, dict) and p.get("samples_s")]
    samples = timing.get("samples_s")
    return [list(samples)] if samples else []


def boot_medians(processes: Sequence[Sequence[float]], key: str, median: float | None = None) -> np.ndarray:
    """RESAMPLES bootstrap medians of one cell, hierarchical over its processes (plain for one process).

    Each replicate draws as many processes as there are, with replacement; slot j then draws as many samples as
    process j has from the process drawn into it. Without at least two samples, `median` is repeated.
    """
    groups = [np.asarray(p, dtype=np.float64) for p in processes if len(p)]
    if len(groups) == 1 and groups[0].size >= 2:
        return _one_process_medians(np.sort(groups[0]), np.random.default_rng(seed_of(key)))
    return _hierarchical_medians(groups, key, median)


def _one_process_medians(xs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The plain bootstrap of a median, drawn exactly without materialising resamples (a cell of a million fast
    runs costs a sort): a resample is F_n^-1 of n uniforms, so its median is F_n^-1 of their middle order
    statistic(s), which are Beta distributed; for even n the next one up is the least of the n - k uniforms above."""
    n = xs.size

    def at(u: np.ndarray) -> np.ndarray:  # F_n^-1(u): the ceil(u n)-th smallest sample
        return xs[np.minimum((u * n).astype(np.int64), n - 1)]

    if n % 2:
        return at(rng.beta((n + 1) / 2, (n + 1) / 2, RESAMPLES))
    k = n // 2
    low = rng.beta(k, n - k + 1, RESAMPLES)
    high = low + (1.0 - low) * (1.0 - rng.random(RESAMPLES) ** (1.0 / (n - k)))
    return (at(low) + at(high)) / 2.0


def _hierarchical_medians(groups: list[np.ndarray], key: str, median: float | None) -> np.ndarray:
    """Processes drawn with replacement, then each slot's samples from the process drawn into it (chunked, so
    memory stays flat)."""
    if sum(g.size for g in groups) < 2:
        value = median if median is not None else (float(groups[0][0]) if groups else math.nan)
        return np.full(RESAMPLES, float(value))
    flat = np.concatenate(groups)
    sizes = np.array([g.size for g in groups])
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    slot = np.repeat(np.arange(len(groups)), sizes)  # which process slot each resampled position belongs to
    rng = np.random.default_rng(seed_of(key))
    out = np.empty(RESAMPLES)
    chunk = max(1, _CHUNK_ELEMENTS // flat.size)
    for start in range(0, RESAMPLES, chunk):
        stop = min(RESAMPLES, start + chunk)
        drawn = rng.integers(0, len(groups), size=(stop - start, len(groups)))[:, slot]
        index = offsets[drawn] + (rng.random((stop - start, flat.size)) * sizes[drawn]).astype(np.int64)
        out[start:stop] = np.median(flat[index], axis=1)
    return out


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% percentile-bootstrap interval (lo == hi == value when nothing to resample)."""

    value: float
    lo: float
    hi: float
    n: int = 1  # how many cells it summarises

    def fmt(self, digits: int = 3, unit: str = "x") -> str:
        return f"{self.value:.{digits}g}{unit} [{self.lo:.{digits}g}, {self.hi:.{digits}g}]"


def interval(replicates: np.ndarray, value: float, n: int = 1) -> Estimate:
    alpha = (1.0 - LEVEL) / 2.0
    lo, hi = np.quantile(replicates, [alpha, 1.0 - alpha])
    return Estimate(float(value), float(lo), float(hi), n)


def median_ci(processes: Sequence[Sequence[float]], key: str = "") -> tuple[float, float]:
    """95% interval of a cell's median (hierarchical over processes)."""
    estimate = interval(boot_medians(processes, key), math.nan)
    return estimate.lo, estimate.hi


Sample = tuple[float, np.ndarray]  # (median, bootstrap medians) of one cell


def ratio(numerator: Sample, denominator: Sample) -> Estimate:
    """(median, replicates) of a over b: for latencies, baseline/backend is the backend's speedup."""
    (a, a_boot), (b, b_boot) = numerator, denominator
    return interval(a_boot / b_boot, a / b)


def geomean(pairs: Sequence[tuple[Sample, Sample]]) -> Estimate | None:
    """Geometric mean over cells of numerator/denominator ratios, with its bootstrap CI; None for no cells."""
    if not pairs:
        return None
    logs = np.array([np.log(a_boot / b_boot) for (_, a_boot), (_, b_boot) in pairs])
    value = math.exp(float(np.mean([math.log(a / b) for (a, _), (b, _) in pairs])))
    return interval(np.exp(logs.mean(axis=0)), value, len(pairs))


def median_ratio_ci(a: Sequence[float], b: Sequence[float], key: str) -> Estimate | None:
    """Ratio of the medians of two sets of values (e.g. compile times over cells), the values resampled."""
    if len(a) == 0 or len(b) == 0:
        return None
    ma, mb = boot_medians([a], key + "/a", float(np.median(a))), boot_medians([b], key + "/b", float(np.median(b)))
    return interval(ma / mb, float(np.median(a) / np.median(b)), min(len(a), len(b)))


def summarize(samples_s: list[float], key: str = "", processes: Sequence[Sequence[float]] | None = None,
              ) -> dict[str, Any]:
    """Distribution summary of warm-run times in seconds (the record's `timing` object).

    `processes`, when the cell was measured in several processes, are their samples (`samples_s` is then all of
    them pooled); they are kept in `timing["processes"]` and the median's CI is hierarchical over them.
    """
    x = np.asarray(samples_s, dtype=np.float64)
    if x.size == 0:
        raise ValueError("no samples to summarize")
    q1, q3 = np.quantile(x, [0.25, 0.75])
    groups = [list(p) for p in processes] if processes else [list(samples_s)]
    lo, hi = median_ci(groups, key)
    out: dict[str, Any] = {
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
    if processes:
        out["processes"] = [{"n": len(p), "median_s": float(np.median(p)),
                             "samples_s": [float(f"{v:.9g}") for v in p]} for p in processes]
    return out
