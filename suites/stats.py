"""The one statistics module of mlcompare: the warm-run loop, a cell's timing summary, and the intervals the runner
and the analysis share.

A cell's interval says what a rerun would see, not only how precisely one run pinned its median. Measured here,
two back-to-back runs disagree far beyond the spread inside one process, and even beyond a bootstrap over a run's
processes (33% of second-run medians fell inside such a CI): a rerun starts new processes on a machine that has
drifted. So a cell measured in k >= 2 processes gets a 95% *rerun interval*: with s the standard deviation of the
log process medians, a rerun's median differs from this one by s * sqrt(1/k + 1/k) times a Student t with k - 1
degrees of freedom (both medians average k processes; t because s comes from k processes only). The interval is
drawn as RESAMPLES replicates, median * exp(t * s * sqrt(2 / k)), seeded by the cell's key (crc32; "" gives seed
0), so every record and every report build is identical. s never falls below the spread of a hierarchical
bootstrap (processes drawn with replacement, then the samples within each), so processes that agree by chance
still carry their samples' own noise. A cell measured in one process gets the plain bootstrap of its median:
it cannot see the between-process variance, and the record says so (`ci_kind`).

A ratio of two cells at replicate b is median_a[b] / median_b[b], independent draws for both; a geometric mean
over cells at replicate b gives the CI of the geomean the same way. Intervals are the 2.5th and 97.5th percentiles
of the replicates.
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


RERUN = "rerun"  # ci_kind of a cell measured in several processes: what a rerun would see
WITHIN_PROCESS = "within-process"  # ci_kind of a one-process cell: the sampling error of its median only


def ci_kind(processes: Sequence[Sequence[float]]) -> str:
    return RERUN if sum(1 for p in processes if len(p)) >= 2 else WITHIN_PROCESS


def median_replicates(processes: Sequence[Sequence[float]], key: str, median: float | None = None,
                      run_sd: float = 0.0) -> np.ndarray:
    """RESAMPLES replicates of one cell's median: the rerun interval's for several processes, the plain bootstrap's
    for one. Without at least two samples, `median` is repeated. `run_sd` is the machine's drift between runs beyond
    its processes' spread (run_to_run_sd, measured on an earlier pair of runs): a rerun and this run each drew a
    shift of that size, so the replicates are spread by a normal of sd run_sd * sqrt(2) in log space."""
    replicates = _process_replicates(processes, key, median)
    if run_sd <= 0.0:
        return replicates
    shift = np.random.default_rng([seed_of(key), 2]).standard_normal(RESAMPLES) * run_sd * math.sqrt(2.0)
    return replicates * np.exp(shift)


def run_to_run_sd(log_changes: Sequence[float], within_variances: Sequence[float]) -> float:
    """The machine's drift between two runs beyond what their processes' spread explains, as a standard deviation
    of log medians per run: the changes' robust second moment about zero (1.4826 x their median absolute value) is
    2 run_sd**2 plus the processes' share (the median over cells of var(log median a) + var(log median b)). About
    zero, not about the median change: a machine that is 25% slower for the whole second run is what a rerun sees,
    and the one cause a uniform change cannot be told apart from. 0 below 10 cells."""
    changes = np.asarray(log_changes, dtype=np.float64)
    if changes.size < 10:
        return 0.0
    spread = 1.4826 * float(np.median(np.abs(changes)))
    within = float(np.median(within_variances)) if len(within_variances) else 0.0
    return math.sqrt(max(0.0, (spread * spread - within) / 2.0))


def process_log_variance(processes: Sequence[Sequence[float]]) -> float:
    """var(log median) of a cell from its processes' spread: s**2 / k (0 for one process: nothing to see)."""
    medians = [float(np.median(p)) for p in processes if len(p)]
    if len(medians) < 2:
        return 0.0
    return float(np.var(np.log(medians), ddof=1)) / len(medians)


def _process_replicates(processes: Sequence[Sequence[float]], key: str, median: float | None) -> np.ndarray:
    groups = [np.asarray(p, dtype=np.float64) for p in processes if len(p)]
    if len(groups) == 1 and groups[0].size >= 2:
        return _one_process_medians(np.sort(groups[0]), np.random.default_rng(seed_of(key)))
    hierarchical = _hierarchical_medians(groups, key, median)
    if len(groups) < 2:
        return hierarchical
    k = len(groups)
    logs = np.log([float(np.median(g)) for g in groups])
    spread = max(float(logs.std(ddof=1)), float(np.std(np.log(hierarchical))) * math.sqrt(k))
    center = median if median is not None else float(np.median(np.concatenate(groups)))
    draws = np.random.default_rng([seed_of(key), 1]).standard_t(k - 1, RESAMPLES)
    # Clipped: a t with 1 degree of freedom draws values whose exp overflows; the percentiles never reach them.
    return center * np.exp(np.clip(draws * spread * math.sqrt(2.0 / k), -60.0, 60.0))


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
    """95% interval of a cell's median: the rerun interval for several processes (see the module docstring)."""
    estimate = interval(median_replicates(processes, key), math.nan)
    return estimate.lo, estimate.hi


def timing_ci(timing: Mapping[str, Any], key: str) -> tuple[float | None, float | None]:
    """A record's 95% interval as this module computes it now: recomputed from the processes of a several-process
    record (older records stored an interval that saw no rerun), else the stored one."""
    processes = timing_processes(timing) if timing.get("processes") else []
    if len(processes) >= 2:
        return median_ci(processes, key)
    low, high = timing.get("ci95_median_s") or (None, None)
    return low, high


Sample = tuple[float, np.ndarray]  # (median, replicates of the median) of one cell


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
    ma = median_replicates([a], key + "/a", float(np.median(a)))
    mb = median_replicates([b], key + "/b", float(np.median(b)))
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
        "ci_kind": ci_kind(groups),
        "total_s": float(x.sum()),
        "samples_s": [float(f"{v:.9g}") for v in x],
    }
    if processes:
        out["processes"] = [{"n": len(p), "median_s": float(np.median(p)),
                             "samples_s": [float(f"{v:.9g}") for v in p]} for p in processes]
    return out
