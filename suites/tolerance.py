"""The verification rule: when does a backend's output count as equal to the float64 reference.

Rule (documented in README.md, "How a result is verified"):

    error     = max|out - ref| / max|ref|             (normalised max-abs error; ref computed in float64)
    tolerance = max(16 * sqrt(K) * eps(dtype), 64 * eps(dtype))

K is the workload's reduction length (the longest chain of accumulated terms per output element, 1 for
elementwise work). Rounding error of a K-term float sum grows like sqrt(K) * eps for random data (and
like K * eps in the worst case); the factor 16 leaves room for legitimate differences in summation order,
blocking, FMA contraction and vectorised transcendental functions, while a wrong result (a missing term,
a transposed operand, a lost bias) is orders of magnitude larger. float32: eps = 2**-23 ~ 1.19e-7, so a
4096-long dot product is allowed 1.2e-4 and an elementwise op 7.6e-6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE_FACTOR = 16.0
TOLERANCE_FLOOR_EPS = 64.0


def tolerance(reduction_length: int, dtype: str | np.dtype = "float32") -> float:
    eps = float(np.finfo(np.dtype(dtype)).eps)
    return max(TOLERANCE_FACTOR * float(np.sqrt(max(reduction_length, 1))) * eps, TOLERANCE_FLOOR_EPS * eps)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    error: float
    tolerance: float
    detail: str = ""


def verify(out: np.ndarray, ref: np.ndarray, reduction_length: int, dtype: str = "float32") -> Verdict:
    tol = tolerance(reduction_length, dtype)
    out = np.asarray(out)
    if out.shape != ref.shape:
        return Verdict(False, float("inf"), tol, f"shape {out.shape} != reference shape {ref.shape}")
    if not np.all(np.isfinite(out)):
        return Verdict(False, float("inf"), tol, "output contains NaN or Inf")
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    diff = float(np.max(np.abs(out.astype(np.float64) - ref))) if ref.size else 0.0
    error = diff / scale if scale > 0 else diff
    detail = "" if error <= tol else f"max normalised error {error:.3g} > tolerance {tol:.3g}"
    return Verdict(error <= tol, error, tol, detail)
