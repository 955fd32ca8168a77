"""The reproducibility of the newest pair of runs, and the noise band that every "faster" verdict must clear."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.claim_types import directional
from analysis.reproducibility import BAND_LIMITS, DEFAULT_BAND, latest_pair, reproducibility
from suites.stats import Estimate

BACKENDS = ("torch-eager", "onnxruntime", "xla", "inductor")


def _rows(run_id: str, suite: str, drift: float, seed: int, machine: str = "m-f25m17-2c") -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for case in ("a", "b", "c", "d", "e"):
        for i, backend in enumerate(BACKENDS):
            median = 1e-3 * (i + 1) * (1.0 + drift * rng.standard_normal())
            samples = list(median * (1.0 + 0.005 * rng.standard_normal(50)))
            rows.append({"run_id": run_id, "machine": machine, "suite": suite, "device": "cpu", "dtype": "float32",
                         "cell": f"{backend}/default/mm/{case}", "backend": backend, "variant": "default",
                         "workload": "mm", "case": case, "status": "ok", "median_s": float(np.median(samples)),
                         "samples_s": samples, "processes": None})
    return rows


def test_the_newest_pair_of_one_matrix_is_compared_and_other_suites_are_not_paired() -> None:
    records = pd.DataFrame(_rows("20260101T000000Z-aaaa", "operators", 0.0, 1)
                           + _rows("20260102T000000Z-bbbb", "operators", 0.0, 2)
                           + _rows("20260103T000000Z-cccc", "models", 0.0, 3)
                           + _rows("20260104T000000Z-dddd", "operators", 0.0, 4, machine="other-f26m2-2c"))
    assert latest_pair(records) == ("20260101T000000Z-aaaa", "20260102T000000Z-bbbb")


def test_a_noisy_pair_widens_the_band_and_a_quiet_pair_keeps_it_at_its_floor() -> None:
    quiet = reproducibility(pd.DataFrame(_rows("20260101T000000Z-aaaa", "operators", 0.0, 1)
                                         + _rows("20260102T000000Z-bbbb", "operators", 0.0, 2)))
    noisy = reproducibility(pd.DataFrame(_rows("20260101T000000Z-aaaa", "operators", 0.0, 1)
                                         + _rows("20260102T000000Z-bbbb", "operators", 0.15, 2)))
    assert quiet.measured and quiet.band == BAND_LIMITS[0]
    assert noisy.measured and 0.08 < noisy.band <= BAND_LIMITS[1]
    assert noisy.comparison is not None and noisy.comparison.run_b == "20260102T000000Z-bbbb"


def test_one_run_alone_gets_the_default_band() -> None:
    alone = reproducibility(pd.DataFrame(_rows("20260101T000000Z-aaaa", "operators", 0.0, 1)))
    assert not alone.measured and alone.band == DEFAULT_BAND and alone.comparison is None


@pytest.mark.parametrize(("estimate", "band", "expected"), [
    (Estimate(1.10, 1.08, 1.12), 0.05, "supported"),  # clears the band
    (Estimate(1.10, 1.08, 1.12), 0.20, "refuted"),  # inside a wider band: no practical difference
    (Estimate(1.10, 1.02, 1.25), 0.05, "inconclusive"),  # straddles the band's edge
    (Estimate(0.80, 0.75, 0.85), 0.05, "refuted"),  # the other way
])
def test_verdicts_respect_the_noise_band(estimate: Estimate, band: float, expected: str) -> None:
    assert directional(estimate, band=band) == expected
