"""A Decoder over the fixed-size-cache step (models/llm_step.py) compiled by some backend: two compiled graphs, one
for the prefill (T = P) and one for a decode step (T = 1) that serves every position.

Each backend gives its compiled step as fn(ids, position, k_cache, v_cache) -> (logits, k_cache, v_cache) on its
own arrays; the cache stays in the backend's arrays between steps (no host round trip), the logits come back to
the host for the argmax.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from models.llm_step import empty_cache
from models.workload import Case

StepFn = Callable[[np.ndarray, np.ndarray, Any, Any], tuple[Any, Any, Any]]


class FixedCacheDecoder:
    def __init__(self, case: Case, prefill: StepFn, step: StepFn, to_device: Callable[[np.ndarray], Any],
                 counters: Callable[[], dict[str, Any]]) -> None:
        self._prefill, self._step, self._counters = prefill, step, counters
        self._case, self._to_device = case, to_device
        self._k: Any = None
        self._v: Any = None
        self.cache_bytes = 2 * empty_cache(case)[0].nbytes

    def prefill(self, prompt: np.ndarray) -> np.ndarray:
        # A fresh zeroed cache per sequence (timed: allocating it is part of starting one), so that nothing a
        # runtime wrote into a buffer it was given can leak into the next sequence.
        empty = (self._to_device(c) for c in empty_cache(self._case))
        logits, self._k, self._v = self._prefill(prompt, np.zeros((1,), np.int64), *empty)
        return np.asarray(logits)

    def step(self, token: int, position: int) -> np.ndarray:
        ids = np.array([[token]], dtype=np.int64)
        logits, self._k, self._v = self._step(ids, np.array([position], np.int64), self._k, self._v)
        return np.asarray(logits)

    def counters(self) -> dict[str, Any]:
        return {"kv_cache_bytes": self.cache_bytes, **self._counters()}
