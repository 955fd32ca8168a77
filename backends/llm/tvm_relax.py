"""TVM Relax: not wired in. Its LLM path (MLC LLM's paged KV cache, Relax functions with a symbolic sequence
length) is a model compiler of its own, not a step graph one imports: every cell is refused with that reason."""

from __future__ import annotations

from typing import Any

from backends.base import CellRequest, Skip, Task, unsupported
from backends.llm.generation import Decoder, LlmBackend

REASON = ("TVM's LLM decoding is MLC LLM's own pipeline (Relax model definitions with a symbolic sequence length "
          "and a paged KV cache, tvm.relax.frontend.nn): importing the fixed-cache step (torch.export or ONNX) "
          "gives no decode loop an expert would run; not implemented in mlcompare yet")


class LlmTvmBackend(LlmBackend):
    name = "llm-tvm"
    description = "TVM Relax LLM decoding (unsupported: see the reason)"
    modules = ("tvm",)
    packages = ("apache-tvm",)

    def skip(self, request: CellRequest) -> Skip | None:
        return super().skip(request) or unsupported(REASON)

    def build(self, task: Task) -> tuple[Decoder, dict[str, Any]]:
        raise NotImplementedError(REASON)  # skip refuses every cell first
