"""A workaround for a MetaSchedule bug (TVM 0.27) that kills whole-model tuning: swin_t's died after 39 minutes.

MetaSchedule's XGBoost cost model packs each candidate's per-block feature rows into one matrix and keeps, per row,
the index of its candidate (`PackSum.ids`), built with `np.concatenate([[i] * n_blocks, ...])`. A candidate with no
blocks contributes an empty list, NumPy then makes the whole index array float64, and `np.bincount` raises
"Cannot cast array data from dtype('float64') to dtype('int64')" (apache/tvm main has the same code). The patch gives
such a candidate one all-zero feature row, so the index stays an integer array with an entry for every candidate;
batches without an empty candidate are packed exactly as before, so existing databases and results are unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

NAME = "metaschedule-xgb-empty-candidate"
SOURCE = "tvm/s_tir/meta_schedule/cost_model/xgb_model.py: PackSum.__init__ (TVM 0.27)"


def padded(xs: list[np.ndarray]) -> list[np.ndarray]:
    """`xs` with every empty candidate given one all-zero feature row (unchanged when none is empty)."""
    filled = next((x for x in xs if x.ndim == 2 and x.shape[0]), None)
    if filled is None or all(x.shape[0] for x in xs):
        return xs
    return [x if x.shape[0] else np.zeros((1, filled.shape[1]), dtype=filled.dtype) for x in xs]


@contextlib.contextmanager
def empty_candidates_tolerated() -> Iterator[None]:
    """Within the block, MetaSchedule's PackSum pads empty candidates (see the module docstring)."""
    from tvm.s_tir.meta_schedule.cost_model import xgb_model

    original = xgb_model.PackSum.__init__

    def init(self: Any, xs: list[np.ndarray], ys: np.ndarray | None) -> None:
        original(self, padded(xs), ys)

    xgb_model.PackSum.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        xgb_model.PackSum.__init__ = original  # type: ignore[method-assign]
