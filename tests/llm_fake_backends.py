"""llm-suite backends for the tests (registered through MLCOMPARE_EXTRA_BACKENDS): the fixed-cache torch step run
eagerly, once as it is and once with a wrong KV-cache update (one position never written)."""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.base import Task
from backends.llm.fixed_cache import FixedCacheDecoder
from backends.llm.generation import Decoder, LlmBackend

# The cache slot the broken backend never writes (a prompt position: every later step attends to it).
DROPPED_POSITION = 3


def _torch_step(task: Task, dropped: int | None) -> Any:
    import torch

    from models.llm import llama_model
    from models.llm_step import fixed_cache_step

    module = fixed_cache_step(llama_model(task.case))

    def run(ids: np.ndarray, position: np.ndarray, k: Any, v: Any) -> Any:
        with torch.inference_mode():
            logits, k_out, v_out = module(torch.from_numpy(ids), torch.from_numpy(position), k, v)
            if dropped is not None:
                k_out[:, :, dropped] = k[:, :, dropped]  # the update of one entry is lost
                v_out[:, :, dropped] = v[:, :, dropped]
        return logits.numpy(), k_out, v_out
    return run


class FixedCacheEagerBackend(LlmBackend):
    name = "llm-test-fixed-cache"
    description = "the fixed-cache torch step, eager"
    modules = ("torch", "transformers")

    dropped: int | None = None

    def build(self, task: Task) -> tuple[Decoder, dict[str, Any]]:
        import torch

        step = _torch_step(task, self.dropped)
        decoder = FixedCacheDecoder(task.case, step, step, to_device=torch.from_numpy,
                                    counters=lambda: {"compilations": 0, "recompilations": 0})
        return decoder, {}


class DroppedCacheEntryBackend(FixedCacheEagerBackend):
    name = "llm-test-dropped-entry"
    description = "the fixed-cache torch step, eager, losing the cache update of one position"
    dropped = DROPPED_POSITION
