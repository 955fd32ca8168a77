"""torch eager with transformers' own KV cache (DynamicCache): what `model.generate()` does by default."""

from __future__ import annotations

from typing import Any

import numpy as np

from backends.base import Task
from backends.llm.generation import Decoder, LlmBackend
from backends.torch_common import torch_thread_env


class EagerDecoder:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.cache: Any = None

    def prefill(self, prompt: np.ndarray) -> np.ndarray:
        from transformers.cache_utils import DynamicCache

        self.cache = DynamicCache()  # a new sequence: the cache grows by concatenation from empty
        return self._forward(prompt)

    def step(self, token: int, position: int) -> np.ndarray:
        return self._forward(np.array([[token]], dtype=np.int64))

    def _forward(self, ids: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(ids), cache=self.cache, use_cache=True,
                             logits_to_keep=1)
        return out.logits[0, -1].numpy()

    def counters(self) -> dict[str, Any]:
        return {"compilations": 0, "recompilations": 0}


class LlmTorchEagerBackend(LlmBackend):
    name = "llm-torch-eager"
    description = "torch eager, transformers LlamaForCausalLM (sdpa attention) with its DynamicCache"
    modules = ("torch", "transformers")
    packages = ("torch", "transformers")
    thread_knob = "torch.set_num_threads(n) + OMP_NUM_THREADS"

    def thread_env(self, threads: int) -> dict[str, str]:
        return torch_thread_env(threads)

    def build(self, task: Task) -> tuple[Decoder, dict[str, Any]]:
        import torch

        from models.llm import llama_model

        torch.set_num_threads(task.threads)
        return EagerDecoder(llama_model(task.case)), {"cache": "DynamicCache", "attention": "sdpa"}
