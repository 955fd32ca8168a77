"""The MetaSchedule cost-model workaround: a tuning candidate with no blocks no longer kills the tuning."""

from __future__ import annotations

import numpy as np
import pytest

from backends.tvm.cost_model_patch import empty_candidates_tolerated, padded

WIDTH = 164  # MetaSchedule's per-block feature length; any width works


def _batch() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.random((3, WIDTH), dtype=np.float32), np.zeros((0, WIDTH), np.float32),
            rng.random((2, WIDTH), dtype=np.float32), np.zeros((0, WIDTH), np.float32)]


def test_only_empty_candidates_are_padded_with_one_zero_row() -> None:
    xs = _batch()
    out = padded(xs)
    assert [x.shape[0] for x in out] == [3, 1, 2, 1]
    assert out[0] is xs[0] and out[2] is xs[2]
    assert not out[1].any() and out[1].dtype == np.float32
    full = [xs[0], xs[2]]
    assert padded(full) is full  # nothing empty: the batch is packed exactly as before


def test_a_batch_with_an_empty_candidate_is_scored_per_candidate_with_the_patch_only() -> None:
    xgb_model = pytest.importorskip("tvm.s_tir.meta_schedule.cost_model.xgb_model")
    pytest.importorskip("xgboost")
    with pytest.raises(TypeError, match="float64"):  # the bug, as swin_t's tuning met it
        broken = xgb_model.PackSum(xs=_batch(), ys=None)
        broken.predict_with_score(np.ones(len(broken.ids)))
    original = xgb_model.PackSum.__init__
    with empty_candidates_tolerated():
        packed = xgb_model.PackSum(xs=_batch(), ys=None)
    assert packed.ids.dtype.kind == "i"
    scores = packed.predict_with_score(np.ones(len(packed.ids)))
    assert scores.tolist() == [3.0, 1.0, 2.0, 1.0]  # one score per candidate, each the sum over its rows
    assert xgb_model.PackSum.__init__ is original  # restored after the block
