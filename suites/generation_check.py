"""The llm suite's two additions to a cell: checking a generation token by token, and its per-phase metrics.

- `verify_generation`: the generated ids (the argmax of each row of logits, as backends/llm/generation.py decodes)
  must equal the float64 reference's, and the logits must pass the usual tolerance (suites/tolerance.py).
- `pool_llm`: each process of a cell reports its prefill and decode-step samples (`llm`, from
  backends/llm/generation.py); the record's `llm` summarises them pooled over the processes with the same
  statistics as the main timing (suites/stats.py): time to first token, decode latency per token, tokens/s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from suites.stats import summarize
from suites.tolerance import Verdict, verify, verify_outputs


def verify_generation(out: np.ndarray, ref: np.ndarray, reduction_length: int, dtype: str = "float32") -> Verdict:
    verdict = verify(out, ref, reduction_length, dtype)
    if np.shape(out) != ref.shape or not verdict.passed:
        return verdict
    ids, expected = np.argmax(out, axis=-1), np.argmax(ref, axis=-1)
    differ = np.flatnonzero(ids != expected)
    if differ.size:
        step = int(differ[0])
        return Verdict(False, verdict.error, verdict.tolerance,
                       f"generated token {step} is {int(ids[step])}, the reference's is {int(expected[step])}")
    return verdict


def verify_generation_outputs(outs: Sequence[np.ndarray], refs: Sequence[np.ndarray], reduction_length: int,
                              dtype: str = "float32") -> Verdict:
    """`verify_generation` in the cell's outputs-as-a-tuple form (a generation has exactly one output)."""
    if len(outs) != 1 or len(refs) != 1:
        return verify_outputs(outs, refs, reduction_length, dtype)
    return verify_generation(outs[0], refs[0], reduction_length, dtype)


def pool_llm(processes: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The record's `llm`: the first process's counters, and each phase summarised over every process."""
    first = processes[0]
    pooled: dict[str, Any] = {k: v for k, v in first.items() if not k.endswith("_samples_s")}
    for phase, name in (("prefill_samples_s", "prefill"), ("decode_step_samples_s", "decode_step")):
        groups = [p[phase] for p in processes if p.get(phase)]
        if groups:
            pooled[name] = summarize([s for g in groups for s in g], f"{key}/{name}",
                                     groups if len(groups) > 1 else None)
    if "prefill" in pooled:
        pooled["ttft_s"] = pooled["prefill"]["median_s"]
        pooled["prefill_tokens_per_s"] = first["prompt_tokens"] / pooled["prefill"]["median_s"]
    if "decode_step" in pooled:
        pooled["decode_tokens_per_s"] = 1.0 / pooled["decode_step"]["median_s"]
    return pooled
