"""The llm suite as the analysis sees it: per cell, time to first token, the decode step and tokens/s with their
intervals, compilations, KV cache and memory; each phase's speedup over transformers' eager decoding
(`llm-torch-eager`) of the same run.

A record's `llm` field (backends/llm/generation.py, pooled by suites/generation_check.pool_llm) holds the two
phases as timing objects with their processes, so they get the same intervals as a cell's whole timing: the
hierarchical rerun bootstrap, widened by the machine's drift between runs for a latency shown alone, not widened
inside a ratio of two records of one run (analysis/dataset.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.aggregate import GeomeanRow, geomeans
from analysis.dataset import Dataset
from suites.stats import Estimate, Sample, interval, median_replicates, ratio, record_key, timing_processes

LLM_SUITE = "llm"
LLM_BASELINE = "llm-torch-eager"  # transformers' generate() path: eager attention over a DynamicCache
PHASES = ("prefill", "decode_step")
# The seed matrix's systems as the llm suite names their adapters.
LLM_BACKEND_OF = {"TVM": "llm-tvm", "XLA": "llm-xla", "ORT": "llm-onnxruntime", "MLIR": "llm-iree",
                  "Inductor": "llm-inductor"}


def phase_sample(row: dict[str, Any], phase: str) -> Sample | None:
    """(median, rerun replicates) of one phase of an ok llm record; None when the record has no such phase."""
    timing = (row.get("llm") or {}).get(phase) if isinstance(row.get("llm"), dict) else None
    processes = timing_processes(timing)
    if not timing or not processes:
        return None
    median = float(timing["median_s"])
    return median, median_replicates(processes, record_key(row["run_id"], f"{row['cell']}/{phase}"), median)


def phase_interval(ds: Dataset, row: dict[str, Any], phase: str) -> Estimate | None:
    """A phase's median with the interval a rerun would see (widened by the machine's drift, as a cell's latency)."""
    timing = (row.get("llm") or {}).get(phase) if isinstance(row.get("llm"), dict) else None
    processes = timing_processes(timing)
    if not timing or not processes:
        return None
    median = float(timing["median_s"])
    key = record_key(row["run_id"], f"{row['cell']}/{phase}")
    return interval(median_replicates(processes, key, median, ds.reproducibility.run_sd), median)


def per_second(step: Estimate | None, tokens: float = 1.0) -> Estimate | None:
    """tokens / latency, with the interval inverted (the latency's upper bound is the rate's lower one)."""
    if step is None:
        return None
    return Estimate(tokens / step.value, tokens / step.hi, tokens / step.lo, step.n)


@dataclass(frozen=True)
class LlmCell:
    """One llm-suite cell as the LLM page and the docs show it."""

    machine: str
    device: str
    case: str
    label: str
    status: str
    reason: str
    prompt_tokens: int | None
    new_tokens: int | None
    generation: Estimate | None  # one whole greedy generation (prefill + N - 1 decode steps)
    ttft: Estimate | None
    decode_step: Estimate | None
    prefill_vs_baseline: Estimate | None  # baseline's TTFT / this TTFT, same run
    decode_vs_baseline: Estimate | None  # baseline's decode step / this decode step, same run
    compile_s: float | None
    first_run_s: float | None
    compilations: int | None
    recompilations: int | None
    kv_cache_bytes: int | None
    peak_rss_run_mb: float | None

    @property
    def decode_tokens_per_s(self) -> Estimate | None:
        return per_second(self.decode_step)

    @property
    def prefill_tokens_per_s(self) -> Estimate | None:
        return per_second(self.ttft, self.prompt_tokens or 0)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and np.isfinite(value) else None


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and np.isfinite(value) else None


def _phase_ratio(base: dict[str, Any] | None, row: dict[str, Any], phase: str) -> Estimate | None:
    if base is None or base["run_id"] != row["run_id"] or row["label"] == LLM_BASELINE:
        return None
    a, b = phase_sample(base, phase), phase_sample(row, phase)
    return ratio(a, b) if a is not None and b is not None else None


def llm_cells(ds: Dataset) -> list[LlmCell]:
    """Every current llm-suite record (ok or not), sorted by machine, device, case and label."""
    frame = ds.cur[ds.cur["suite"] == LLM_SUITE] if len(ds.cur) else ds.cur
    if frame.empty:
        return []
    out = []
    rows = frame.sort_values(["machine", "device", "case", "label"]).to_dict("records")
    bases = {(r["machine"], r["device"], r["case"]): r for r in rows
             if r["label"] == LLM_BASELINE and r["status"] == "ok"}
    for r in rows:
        ok = r["status"] == "ok"
        llm = r.get("llm") if isinstance(r.get("llm"), dict) else {}
        base = bases.get((r["machine"], r["device"], r["case"]))
        out.append(LlmCell(
            r["machine"], r["device"], r["case"], r["label"], r["status"], str(r.get("reason") or ""),
            _count(llm.get("prompt_tokens")), _count(llm.get("new_tokens")),
            ds.median_interval(r) if ok else None,
            phase_interval(ds, r, "prefill") if ok else None, phase_interval(ds, r, "decode_step") if ok else None,
            _phase_ratio(base, r, "prefill") if ok else None, _phase_ratio(base, r, "decode_step") if ok else None,
            _number(r.get("compile_s")), _number(r.get("first_run_s")), _count(llm.get("compilations")),
            _count(llm.get("recompilations")), _count(llm.get("kv_cache_bytes")), _number(r.get("peak_rss_run_mb"))))
    return out


def llm_geomeans(ds: Dataset, machine: str, device: str) -> list[GeomeanRow]:
    """Whole-generation geomean speedup over the eager baseline per label (the common-set rule of every suite)."""
    return geomeans(ds, machine, device, (LLM_SUITE,), LLM_BASELINE)[0]


def context_growth(cells: list[LlmCell], short: str = "p128", long: str = "p512") -> pd.DataFrame:
    """How each label's decode step grows from the short context to the long one (ratio of medians)."""
    steps = {(c.machine, c.device, c.label, c.case): c.decode_step for c in cells if c.decode_step is not None}
    rows = []
    for (machine, device, label, case), step in sorted(steps.items()):
        other = steps.get((machine, device, label, long))
        if case == short and other is not None:
            rows.append({"machine": machine, "device": device, "label": label, "short_s": step.value,
                         "long_s": other.value, "growth": other.value / step.value})
    return pd.DataFrame(rows, columns=["machine", "device", "label", "short_s", "long_s", "growth"])
