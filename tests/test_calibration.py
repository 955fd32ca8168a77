"""The machine calibration returns plausible numbers: a peak no measured kernel beats, bandwidth above zero."""

from __future__ import annotations

import time

import numpy as np
import pytest

from suites.calibration import attainable_gflops, measure_calibration

# Measures this machine's FMA peak and BLAS speed live: not beside another test worker (noxfile.py).
pytestmark = pytest.mark.serial

THREADS = 2


@pytest.fixture(scope="module")
def calibration() -> dict:
    return measure_calibration(THREADS)


def numpy_matmul_gflops(n: int = 512) -> float:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


def test_peak_is_above_what_blas_reaches(calibration: dict) -> None:
    blas = numpy_matmul_gflops()
    # The machine is shared: a calibration that ran while another job held a core underestimates the peak,
    # so it is measured again (at most twice) before the comparison counts as failed.
    peak = calibration["peak_gflops"]
    for _ in range(2):
        if peak > blas:
            break
        peak = max(peak, measure_calibration(THREADS)["peak_gflops"])
    assert peak > blas, (calibration, blas)
    # ... but not absurdly above (a broken kernel or a FLOP-count slip would show as 100x).
    assert peak < 50 * blas
    assert calibration["peak_gflops"] == max(calibration["peak_gflops_by_vector_bits"].values())


def test_bandwidth_and_bookkeeping(calibration: dict) -> None:
    assert 0 < calibration["bandwidth_gbps"] < 5000
    assert 0 < calibration["copy_gbps"] < 5000
    assert calibration["bandwidth_gbps"] == calibration["triad_gbps"]
    assert calibration["threads"] == THREADS
    assert "FMA" in calibration["method"] and "triad" in calibration["method"]
    assert 0 < calibration["measured_s"] < 60


def test_roofline_is_the_lower_of_the_two_roofs(calibration: dict) -> None:
    # A 2048^3 matmul is compute bound, an elementwise add (1 FLOP per 12 bytes) memory bound.
    assert attainable_gflops(calibration, 2 * 2048**3, 3 * 4 * 2048**2) == calibration["peak_gflops"]
    assert attainable_gflops(calibration, 1e6, 12e6) == pytest.approx(calibration["bandwidth_gbps"] / 12)


def test_bad_thread_count_is_refused() -> None:
    with pytest.raises(ValueError):
        measure_calibration(0)
