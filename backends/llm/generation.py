"""What every decode path shares: the Decoder interface, the greedy generation loop and its clock, and the adapter
base class that turns a Decoder into a cell's Prepared.

One timed inference is one whole generation (prefill + N - 1 decode steps). The loop clocks the prefill (time to
first token) and every decode step apart; `after_warm_runs` hands those samples to the record (`details.llm`),
where the runner pools them over the cell's processes like the main timing (suites/generation_check.py).
The argmax is taken on the host from each step's logits, the same for every backend, so the ids a backend
generates are by construction the argmax of the logits it returns.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from backends.base import Backend, Capabilities, CellRequest, Prepared, Skip, Task, unsupported

LLM_CAPABILITIES = Capabilities(definition="torch", suites=("llm",))


class Decoder(Protocol):
    """One backend's decode path, holding its compiled code, weights and KV cache."""

    def prefill(self, prompt: np.ndarray) -> np.ndarray:
        """Start a new sequence: run the prompt [1, P] (int64) from an empty cache; the last position's logits."""

    def step(self, token: int, position: int) -> np.ndarray:
        """Append one token at `position` (its cache slot) and return its logits [vocab]."""

    def counters(self) -> dict[str, Any]:
        """Compilations so far and what else only a run reveals (recompilations, graphs, cache sizes)."""


@dataclass
class PhaseClock:
    """The prefill and decode-step times of every generation run so far."""

    prefill_s: list[float] = field(default_factory=list)
    step_s: list[list[float]] = field(default_factory=list)  # per generation, per decode step

    def samples(self, skip_first: bool) -> dict[str, Any]:
        """The warm generations' samples (the first one compiles lazily in some backends)."""
        start = 1 if skip_first and len(self.prefill_s) > 1 else 0
        steps = self.step_s[start:]
        return {"prefill_samples_s": self.prefill_s[start:],
                # One sample per generation: its mean decode step (steps of one run are not independent).
                "decode_step_samples_s": [float(np.mean(s)) for s in steps if s]}


def generate(decoder: Decoder, prompt: np.ndarray, new_tokens: int, clock: PhaseClock) -> np.ndarray:
    """Greedy decoding: the logits that chose each of the `new_tokens` tokens, [N, vocab] float32."""
    start = time.perf_counter()
    logits = [np.asarray(decoder.prefill(prompt), dtype=np.float32).reshape(-1)]
    clock.prefill_s.append(time.perf_counter() - start)
    steps = []
    position = prompt.shape[1]
    for _ in range(new_tokens - 1):
        token = int(np.argmax(logits[-1]))
        start = time.perf_counter()
        logits.append(np.asarray(decoder.step(token, position), dtype=np.float32).reshape(-1))
        steps.append(time.perf_counter() - start)
        position += 1
    clock.step_s.append(steps)
    return np.stack(logits)


class LlmBackend(Backend):
    """An adapter of the llm suite: builds a Decoder in `build` (timed as compile_s with the rest of prepare)."""

    capabilities = LLM_CAPABILITIES

    def skip(self, request: CellRequest) -> Skip | None:
        return super().skip(request) or unsupported(
            None if request.workload.kind == "llm" else f"{self.name} decodes LLM workloads only (the llm suite)")

    @abstractmethod
    def build(self, task: Task) -> tuple[Decoder, dict[str, Any]]:
        """The decode path for the task's model and case, and details describing it."""

    def prepare(self, task: Task) -> Prepared:
        decoder, details = self.build(task)
        workload: Any = task.workload  # models.llm.LlamaDecode
        prompt = np.ascontiguousarray(task.inputs[0], dtype=np.int64)
        new_tokens = task.case["new_tokens"]
        clock = PhaseClock()
        details["kv_bytes_per_token"] = workload.kv_bytes_per_token(task.case)

        def after_warm_runs() -> dict[str, Any]:
            return {"llm": {**clock.samples(skip_first=True), "new_tokens": new_tokens,
                            "prompt_tokens": prompt.shape[1], **decoder.counters()}}

        return Prepared(run=lambda: generate(decoder, prompt, new_tokens, clock), fetch=np.asarray, details=details,
                        after_first_run=decoder.counters, after_warm_runs=after_warm_runs)
