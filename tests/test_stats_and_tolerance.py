"""The statistics of warm runs and the verification rule."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from suites.stats import (
    RERUN,
    RESAMPLES,
    WITHIN_PROCESS,
    RepeatPolicy,
    _hierarchical_medians,
    calibrate_loops,
    interval,
    median_ci,
    median_replicates,
    repeat,
    summarize,
    timing_processes,
)
from suites.tolerance import tolerance, verify


def test_summary_of_known_samples() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["median_s"] == 3.0
    assert s["mean_s"] == 22.0
    assert s["min_s"] == 1.0 and s["max_s"] == 100.0
    assert s["q1_s"] == 2.0 and s["q3_s"] == 4.0 and s["iqr_s"] == 2.0
    assert s["stdev_s"] == pytest.approx(np.std([1, 2, 3, 4, 100], ddof=1))
    assert s["p10_s"] == pytest.approx(1.4) and s["p90_s"] == pytest.approx(61.6)
    assert s["n"] == 5 and s["samples_s"] == [1.0, 2.0, 3.0, 4.0, 100.0]


def test_bootstrap_ci_covers_the_true_median() -> None:
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(100):
        sample = rng.lognormal(mean=0.0, sigma=0.5, size=60)  # true median exp(0) = 1
        lo, hi = median_ci([sample.tolist()], key=str(rng.integers(1 << 30)))
        covered += lo <= 1.0 <= hi
    assert 85 <= covered <= 100  # nominal 95%


def test_bootstrap_ci_is_narrow_for_tight_samples() -> None:
    lo, hi = median_ci([[2.5] * 50])
    assert lo == hi == 2.5


def test_repeat_honours_min_runs_and_min_time() -> None:
    samples = repeat(lambda: None, RepeatPolicy(min_runs=7, min_time_s=0.0, max_time_s=10.0))
    assert len(samples) == 7
    samples = repeat(lambda: None, RepeatPolicy(min_runs=1, min_time_s=0.05, max_time_s=10.0, max_runs=10**7))
    assert sum(samples) <= 0.05 + 0.01 and len(samples) > 10


def test_repeat_stops_at_max_time_with_a_floor() -> None:
    samples = repeat(lambda: time.sleep(0.02), RepeatPolicy(min_runs=1000, min_time_s=100, max_time_s=0.05))
    assert 3 <= len(samples) <= 6


def test_repeat_never_stops_before_min_time_for_fast_runs_and_keeps_records_small() -> None:
    """The run cap used to stop microsecond kernels after 2000 runs, well short of the documented 1 s; without a
    cap they would store a million samples. Fast calls are batched instead (loops), so both hold."""
    policy = RepeatPolicy(min_runs=10, min_time_s=0.2, max_time_s=5.0, max_runs=50)

    def run() -> int:
        return sum(range(100))

    loops = calibrate_loops(run, policy)
    assert loops > 1 and calibrate_loops(lambda: time.sleep(0.01), policy) == 1
    start = time.perf_counter()
    samples = repeat(run, policy, loops)
    assert time.perf_counter() - start >= 0.2 and 10 <= len(samples) <= 500
    assert not policy.done(499, 0.19) and policy.done(499, 0.2) and policy.done(3, 5.0)
    assert policy.done(500, 0.0)  # the hard cap: ten times max_runs
    assert not policy.done(2, 5.0)  # the floor holds even past max_time_s


def test_summary_ci_is_seeded_by_the_cell_key() -> None:
    samples = list(np.linspace(1.0, 2.0, 51))
    assert summarize(samples)["ci95_median_s"] == summarize(samples, key="")["ci95_median_s"]
    assert median_replicates([samples], "a").size == RESAMPLES
    assert np.array_equal(median_replicates([samples], "a"), median_replicates([samples], "a"))
    assert summarize(samples, key="a")["ci95_median_s"] == list(median_ci([samples], "a"))


@pytest.mark.parametrize("n", [7, 50, 51])
def test_one_process_bootstrap_has_the_resampling_distribution(n: int) -> None:
    """The order-statistic draw of one process's bootstrap medians matches resampling the samples outright."""
    rng = np.random.default_rng(n)
    x = rng.lognormal(0.0, 0.5, n)
    brute = np.median(x[rng.integers(0, n, size=(20_000, n))], axis=1)
    fast = np.concatenate([median_replicates([x.tolist()], f"k{i}") for i in range(10)])
    q = [0.025, 0.25, 0.5, 0.75, 0.975]
    assert np.allclose(np.quantile(fast, q), np.quantile(brute, q), rtol=0.03)
    if n % 2:  # an odd resample's median is one of the samples
        assert set(fast) <= set(x)


def test_summary_of_several_processes_keeps_them() -> None:
    timing = summarize([1.0, 2.0, 3.0, 10.0, 11.0, 12.0], processes=[[1.0, 2.0, 3.0], [10.0, 11.0, 12.0]])
    assert [p["median_s"] for p in timing["processes"]] == [2.0, 11.0]
    assert timing_processes(timing) == [[1.0, 2.0, 3.0], [10.0, 11.0, 12.0]]
    assert timing_processes({"samples_s": [1.0, 2.0]}) == [[1.0, 2.0]]  # no processes: one process
    lo, hi = timing["ci95_median_s"]
    assert lo <= 2.5 and hi >= 10.5  # either process alone may be the whole truth


def _process_cells(rng: np.random.Generator, cells: int) -> list[list[list[float]]]:
    """Cells of 5 processes whose true medians differ by a random 10% offset, 200 samples each with 1% jitter; the
    population median (over processes) is 1.0."""
    out = []
    for _ in range(cells):
        medians = 1.0 + 0.1 * rng.standard_normal(5)
        out.append([(m * (1.0 + 0.01 * rng.standard_normal(200))).tolist() for m in medians])
    return out


def test_hierarchical_bootstrap_covers_the_population_median() -> None:
    """Between-process variance must enter the CI: resampling the pooled samples alone hides it."""
    cells = _process_cells(np.random.default_rng(7), 150)
    hierarchical = [median_ci(processes, f"cell{i}") for i, processes in enumerate(cells)]
    covered = sum(lo <= 1.0 <= hi for lo, hi in hierarchical)
    assert covered >= 0.90 * len(cells)
    pooled = [median_ci([[s for p in processes for s in p]], f"cell{i}") for i, processes in enumerate(cells[:40])]
    assert sum(lo <= 1.0 <= hi for lo, hi in pooled) <= 0.3 * 40  # the per-sample bootstrap: far too narrow


def _run_of_cell(rng: np.random.Generator, processes: int) -> list[list[float]]:
    """One run of a cell whose true median is 1.0: each process lands 8% (sd) away by placement and drift, and
    its 30 samples jitter 1% around that."""
    return [(math.exp(0.08 * rng.standard_normal()) * (1.0 + 0.01 * rng.standard_normal(30))).tolist()
            for _ in range(processes)]


@pytest.mark.parametrize("processes", [3, 5])
def test_rerun_interval_covers_a_second_run(processes: int) -> None:
    """The record's CI must hold what a rerun sees (>= 90% at nominal 95%); a bootstrap over the first run's
    processes alone misses far more often, and the per-sample bootstrap almost always."""
    rng = np.random.default_rng(11)
    cells = [(_run_of_cell(rng, processes), _run_of_cell(rng, processes)) for _ in range(300)]
    seconds = [float(np.median([s for p in second for s in p])) for _, second in cells]
    rerun = [summarize([s for p in first for s in p], f"c{i}", first) for i, (first, _) in enumerate(cells)]
    assert all(t["ci_kind"] == RERUN for t in rerun)
    covered = sum(t["ci95_median_s"][0] <= m <= t["ci95_median_s"][1] for t, m in zip(rerun, seconds, strict=True))
    assert covered >= 0.90 * len(cells)
    bootstrap = [interval(_hierarchical_medians([np.asarray(p) for p in first], f"c{i}", None), 1.0)
                 for i, (first, _) in enumerate(cells)]
    assert sum(e.lo <= m <= e.hi for e, m in zip(bootstrap, seconds, strict=True)) <= 0.85 * len(cells)
    pooled = [summarize([s for p in first for s in p], f"c{i}") for i, (first, _) in enumerate(cells[:50])]
    assert all(t["ci_kind"] == WITHIN_PROCESS for t in pooled)
    inside = sum(t["ci95_median_s"][0] <= m <= t["ci95_median_s"][1] for t, m in zip(pooled, seconds[:50], strict=True))
    assert inside <= 0.3 * 50


def test_tolerance_rule() -> None:
    eps = float(np.finfo(np.float32).eps)
    assert tolerance(4096) == pytest.approx(16 * 64 * eps)
    assert tolerance(1) == pytest.approx(64 * eps)  # the floor
    assert tolerance(1024, "float64") == pytest.approx(16 * 32 * float(np.finfo(np.float64).eps))
    assert tolerance(10_000) > tolerance(100)


def test_verify_accepts_float32_rounding_and_rejects_real_errors() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 1024)).astype(np.float32)
    b = rng.standard_normal((1024, 32)).astype(np.float32)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    assert verify(a @ b, ref, 1024).passed
    wrong = (a @ b).copy()
    wrong[3, 4] += 0.01 * np.abs(ref).max()
    verdict = verify(wrong, ref, 1024)
    assert not verdict.passed and verdict.error == pytest.approx(0.01, rel=1e-2)
    assert not verify(a[:, :32] @ b[:32], ref, 1024).passed  # a missing part of the reduction


def test_verify_rejects_shape_nan_and_inf() -> None:
    ref = np.ones((2, 2))
    assert "shape" in verify(np.ones((2, 3), np.float32), ref, 1).detail
    bad = np.ones((2, 2), np.float32)
    bad[0, 0] = np.nan
    assert not verify(bad, ref, 1).passed
    assert math.isinf(verify(bad, ref, 1).error)
