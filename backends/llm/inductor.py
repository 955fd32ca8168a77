"""torch.compile (Inductor) of the decode step over transformers' StaticCache: the recipe of transformers' own
docs (llm_optims: "Static kv-cache and torch.compile"): the cache is allocated once at its maximum length, so the
decode step keeps one shape and compiles once; the prefill runs eagerly, as in that recipe and in
generate()'s automatic compilation (which compiles the decode step only).

Compilations and recompilations are counted from Dynamo's own counters (torch._dynamo.utils.counters): a
recompilation is any graph beyond the decode step's one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from backends.base import Setting, Task
from backends.llm.generation import Decoder, LlmBackend
from backends.torch_common import torch_thread_env

HF_STATIC_CACHE_DOC = ("https://huggingface.co/docs/transformers/llm_optims (Static kv-cache and torch.compile); "
                       "https://huggingface.co/docs/transformers/kv_cache (StaticCache)")
STATIC_CACHE = Setting("cache", "StaticCache(max_cache_len=P+N)", HF_STATIC_CACHE_DOC,
                       "a cache of fixed shape, written in place at cache_position: one decode graph for every step")
COMPILE_STEP = Setting("torch.compile(decode step)", "fullgraph=True, dynamic=False", HF_STATIC_CACHE_DOC,
                       "compiles the decode step once (the prefill stays eager, as in the documented recipe)")
FREEZING = Setting(
    "torch._inductor.config.freezing", "True",
    "pytorch/pytorch benchmarks/dynamo/common.py (--freezing; the x86 CPU inductor dashboard runs with it)",
    "the weights become constants of the compiled step: Inductor folds and prepacks them for its GEMM kernels")
VARIANTS = {"default": False, "freezing": True}  # variant -> freezing


class InductorDecoder:
    def __init__(self, model: Any, max_len: int, freezing: bool) -> None:
        import torch
        from transformers.cache_utils import StaticCache

        self.model, self.freezing = model, freezing
        self.cache = StaticCache(config=model.config, max_cache_len=max_len)
        torch._dynamo.reset()  # as in a fresh process: an earlier decoder's graph is not reused
        self.compiled = torch.compile(self._forward, fullgraph=True, dynamic=False)
        self.graphs_before, self.breaks_before = _dynamo_counts()  # the counters are per process, not per decoder

    def _forward(self, ids: Any, positions: Any) -> Any:
        return self.model(input_ids=ids, position_ids=positions[None], cache_position=positions, cache=self.cache,
                          use_cache=True, logits_to_keep=1).logits[0, -1]

    def prefill(self, prompt: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            self.cache.reset()  # zero the buffers in place (they keep their addresses: no recompilation)
            return self._forward(torch.from_numpy(prompt), torch.arange(prompt.shape[1])).numpy()

    def step(self, token: int, position: int) -> np.ndarray:
        import torch
        import torch._inductor.config as inductor_config

        scope = inductor_config.patch(freezing=True) if self.freezing else contextlib.nullcontext()
        with torch.inference_mode(), scope:
            return self.compiled(torch.tensor([[token]]), torch.tensor([position])).numpy()

    def counters(self) -> dict[str, Any]:
        graphs, breaks = _dynamo_counts()
        graphs -= self.graphs_before
        return {"compilations": graphs, "recompilations": max(0, graphs - 1),
                "graph_breaks": breaks - self.breaks_before, "kv_cache_bytes": _cache_bytes(self.cache)}


def _dynamo_counts() -> tuple[int, int]:
    """Dynamo's graphs compiled and graph breaks so far in this process."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"]), sum(counters["graph_break"].values())


def _cache_bytes(cache: Any) -> int:
    return sum(t.numel() * t.element_size() for layer in cache.layers
               for t in (getattr(layer, "keys", None), getattr(layer, "values", None)) if t is not None)


class LlmInductorBackend(LlmBackend):
    name = "llm-inductor"
    description = "torch.compile (Inductor) of the decode step, transformers StaticCache"
    variants = tuple(VARIANTS)
    variant_settings: ClassVar[Mapping[str, tuple[Setting, ...]]] = {
        "default": (STATIC_CACHE, COMPILE_STEP), "freezing": (STATIC_CACHE, COMPILE_STEP, FREEZING)}
    expert_variants = ("freezing",)
    modules = ("torch", "transformers")
    packages = ("torch", "transformers")
    thread_knob = "torch.set_num_threads(n) + OMP_NUM_THREADS (Inductor's OpenMP kernels)"

    def thread_env(self, threads: int) -> dict[str, str]:
        return torch_thread_env(threads)

    def build(self, task: Task) -> tuple[Decoder, dict[str, Any]]:
        import torch

        from models.llm import llama_model

        torch.set_num_threads(task.threads)
        max_len = task.case["prompt"] + task.case["new_tokens"]
        decoder = InductorDecoder(llama_model(task.case), max_len, VARIANTS[task.variant])
        # Lazy: the decode step compiles in the first generation (first_run_s holds it).
        return decoder, {"cache": "StaticCache", "compiled": "decode step", "first_call_compiles": True,
                         "freezing": VARIANTS[task.variant]}
