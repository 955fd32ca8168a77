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

Other precisions (backends/precision.py) use their own eps: float16 and tf32 2**-10, bfloat16 2**-7 (the
reference stays float64, from the inputs as rounded to the precision). The tolerance is capped at 1/16
(TOLERANCE_CAP): beyond that an output is not the same function whatever the precision. In these precisions
the floor alone (64 * eps = 1/16 for float16 and tf32, 1/2 for bfloat16) reaches the cap, so every
low-precision tolerance is 1/16: such a check catches structural errors (a wrong operand, a lost term or bias,
NaN) but not a subtle loss of precision, whose size the record keeps in `verification.error`. For float32 the
cap would bind only beyond K ~ 10^9, so float32 tolerances are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from backends.precision import PRECISIONS

TOLERANCE_FACTOR = 16.0
TOLERANCE_FLOOR_EPS = 64.0
TOLERANCE_CAP = 2.0**-4


def epsilon(dtype: str | np.dtype) -> float:
    """Machine epsilon of a precision name (float32, tf32, float16, bfloat16) or of any NumPy float dtype."""
    precision = PRECISIONS.get(str(dtype))
    return precision.eps if precision else float(np.finfo(np.dtype(dtype)).eps)


def tolerance(reduction_length: int, dtype: str | np.dtype = "float32") -> float:
    eps = epsilon(dtype)
    rule = max(TOLERANCE_FACTOR * float(np.sqrt(max(reduction_length, 1))) * eps, TOLERANCE_FLOOR_EPS * eps)
    return min(rule, TOLERANCE_CAP)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    error: float
    tolerance: float
    detail: str = ""
    # Per output, for a workload with several (each checked against its own reference output); empty for one.
    outputs: tuple[Verdict, ...] = field(default_factory=tuple)


def verify(out: np.ndarray, ref: np.ndarray, reduction_length: int, dtype: str = "float32") -> Verdict:
    # Integer outputs (indices, counts) have no rounding error to allow for: they must be equal.
    tol = 0.0 if np.asarray(ref).dtype.kind in "iub" else tolerance(reduction_length, dtype)
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


def verify_outputs(outs: Sequence[np.ndarray], refs: Sequence[np.ndarray], reduction_length: int,
                   dtype: str = "float32") -> Verdict:
    """Every output against its own reference output; one output gives exactly `verify`'s verdict. The overall
    error and tolerance are those of the output furthest past (or closest to) its tolerance."""
    if len(outs) != len(refs):
        return Verdict(False, float("inf"), tolerance(reduction_length, dtype),
                       f"{len(outs)} outputs, the reference has {len(refs)}")
    verdicts = tuple(verify(o, r, reduction_length, dtype) for o, r in zip(outs, refs, strict=True))
    if len(verdicts) == 1:
        return verdicts[0]

    def badness(v: Verdict) -> float:
        return v.error / v.tolerance if v.tolerance > 0 else (0.0 if v.error == 0 else float("inf"))

    worst = max(verdicts, key=badness)
    failed = [f"output {i}: {v.detail}" for i, v in enumerate(verdicts) if not v.passed]
    return Verdict(not failed, worst.error, worst.tolerance, "; ".join(failed), verdicts)
