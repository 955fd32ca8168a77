"""The order a run measures its cells in: interleaved rounds of independent processes.

The machine's speed drifts by tens of percent within minutes, so two backends are only comparable when they are
measured close together and alike. Each workload case is measured in R rounds; every round runs one process of
each of the case's cells, in a fresh shuffled order (seeded by the run's seed, the case and the round, so the
order is reproducible and recorded). Drift then falls on every backend alike, and the spread between a cell's
processes is what a rerun would see.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from suites.generation_check import pool_llm
from suites.stats import summarize

# What each process keeps of its own in a merged record (its warm-run samples live in timing.processes).
PROCESS_FIELDS = ("status", "reason", "round", "position", "compile_s", "first_run_s", "wall_s", "load_avg",
                  "interference", "peak_rss_mb", "repeat_of_disturbed", "repeat_disturbed_too")


@dataclass(frozen=True)
class Slot:
    """One process to run: which cell (by index into the planned list), which round, its place in that round."""

    index: int
    round: int
    position: int


def round_seed(seed: int, case_key: str, round_number: int) -> int:
    return zlib.crc32(f"{seed}/{case_key}/{round_number}".encode())


def interleave(case_keys: Sequence[str], repeats: int, seed: int) -> list[Slot]:
    """The slots of a run: cells grouped by case (in first-seen order), each case's rounds one after another,
    each round a seeded shuffle of the case's cells. `case_keys[i]` is the case of cell i."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    by_case: dict[str, list[int]] = {}
    for index, key in enumerate(case_keys):
        by_case.setdefault(key, []).append(index)
    slots: list[Slot] = []
    for key, members in by_case.items():
        for round_number in range(repeats):
            order = list(members)
            random.Random(round_seed(seed, key, round_number)).shuffle(order)
            slots.extend(Slot(index, round_number, position) for position, index in enumerate(order))
    return slots


def merge_processes(results: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """One cell's record fields from its processes, in the order they ran.

    The first failure, if any, is the cell's status (a crash in a later process is a finding, not noise). An ok
    cell keeps the first process's compile time (the cold compile), first run and verification; its timing pools
    every process's warm runs, with the median's CI resampled over processes (suites.stats). Each process's own
    figures stay under `processes`.
    """
    per_process = [{**{k: r[k] for k in PROCESS_FIELDS if k in r},
                    "reused": sorted(k for k, v in (r.get("details") or {}).items() if k.endswith("_reused") and v)}
                   for r in results]
    failed = next((r for r in results if r.get("status") != "ok"), None)
    if failed is not None:
        return {**failed, "processes": per_process}
    first = results[0]
    groups = [r["timing"]["samples_s"] for r in results]
    timing = summarize([s for g in groups for s in g], key, groups if len(groups) > 1 else None)
    scale = first["timing"]["median_s"] / timing["median_s"]  # throughput figures follow the pooled median
    merged = {**first, "timing": timing, "processes": per_process,
              "wall_s": sum(r.get("wall_s", 0.0) for r in results),
              "disturbed": any(p.get("interference", {}).get("disturbed", False) for p in per_process)}
    # The most threads any process kept busy, and whether any kept more busy than were requested.
    observed = [p["interference"]["observed_threads"] for p in per_process if "observed_threads" in
                p.get("interference", {})]
    if observed:
        merged["observed_threads"] = max(observed)
        merged["threads_exceeded"] = any(p["interference"].get("threads_exceeded", False) for p in per_process
                                         if p.get("interference"))
    for name in ("gflops", "gbps"):
        if name in first:
            merged[name] = first[name] * scale
    for name in ("peak_rss_mb", "peak_tree_rss_mb", "peak_rss_run_mb"):
        values = [r[name] for r in results if name in r]
        if values:
            merged[name] = max(values)
    if "llm" in first:  # the llm suite's per-phase samples, pooled like the timing
        merged["llm"] = pool_llm([r["llm"] for r in results if "llm" in r], key)
    loads = [r["load_avg"] for r in results if r.get("load_avg")]
    if loads:
        merged["load_avg"] = [max(v[0] for v in loads), max(v[-1] for v in loads)]
    return merged
