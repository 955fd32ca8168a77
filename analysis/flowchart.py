"""The seed's decision flowchart, re-drawn per target from the claims' verdicts and the measurements.

An edge's verdict: supported if all of its claims are supported on the target, refuted if any is refuted,
inconclusive otherwise; an edge whose target this harness has no hardware for is "not measured".
Each drawn target also gets measured edges (fastest here, fastest to first inference) that come from data alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.aggregate import coverage_by_backend
from analysis.claim_types import ClaimResult
from analysis.compile_cost import effective_compile
from analysis.dataset import Dataset
from analysis.links import PAGES, claim_href, suite_href
from analysis.seed_matrix import BACKEND_OF, CPU_EVIDENCE, LLM_EVIDENCE, Evidence, best_variants, primary_scope


@dataclass(frozen=True)
class SeedEdge:
    condition: str
    choice: str  # the seed's recommendation
    claims: dict[str, tuple[str, ...]]  # target -> claim ids that test the edge there
    not_measured: str  # why, where no claim applies


SEED_EDGES = (
    SeedEdge("NVIDIA GPU only", "Triton (best perf) or TensorRT (production)", {"gpu": ("triton-best-gpu",)},
             "a GPU edge: checked on GPU results only (on CPU, Triton does not run at all: see triton-gpu-only)"),
    SeedEdge("Google TPU", "XLA + JAX (only option)", {}, "no TPU in the harness"),
    SeedEdge("Apple Silicon", "TVM/MLC-LLM (Metal) or CoreML", {}, "no Apple hardware in the harness"),
    SeedEdge("Web browser", "TVM/MLC-LLM (WebGPU) or ORT (WASM)", {}, "no browser runtime is benchmarked"),
    SeedEdge("Multi-target", "TVM (best coverage) or ORT (easier)",
             {"cpu": ("tvm-best-coverage", "ort-easier-than-tvm"), "gpu": ("tvm-best-coverage",)}, ""),
    SeedEdge("Edge / MCU", "TVM µTVM or IREE (MLIR)", {}, "no edge device or microcontroller in the harness"),
    SeedEdge("\"Just works\"", "ONNX Runtime (broadest model support)",
             {"cpu": ("ort-broadest-models",), "gpu": ("ort-broadest-models",)}, ""),
    SeedEdge("LLM serving", "vLLM/Triton (NVIDIA) or MLC-LLM (anywhere)", {},
             "the serving stacks the seed names (vLLM, MLC-LLM) are not benchmarked; the llm suite measures each "
             "compiler's own greedy decoding with a KV cache instead (CPU only here)"),
)


@dataclass(frozen=True)
class DrawnEdge:
    condition: str
    choice: str  # what the edge points to (the seed's choice, or the measured one for data edges)
    verdict: str  # supported, refuted, inconclusive, not measured, measured
    note: str
    links: tuple[tuple[str, str], ...]  # (text, href)
    measured_choice: str = ""


def combine(verdicts: list[str]) -> str:
    if not verdicts:
        return "inconclusive"
    if "refuted" in verdicts:
        return "refuted"
    return "supported" if all(v == "supported" for v in verdicts) else "inconclusive"


def draw(ds: Dataset, results: list[ClaimResult], target: str) -> list[DrawnEdge]:
    """The flowchart for one target ('cpu' or 'gpu')."""
    edges = list(_measured_edges(ds, target))
    for edge in SEED_EDGES:
        ids = edge.claims.get(target, ())
        if not ids:
            llm = _fastest_llm(ds, target) if edge.condition == "LLM serving" else ""
            edges.append(DrawnEdge(edge.condition, edge.choice, "not measured", edge.not_measured,
                                   (("LLM suite", suite_href("llm")),) if llm else (), llm))
            continue
        mine = [r for r in results if r.claim.id in ids and (r.machine is None or _target_of(ds, r) == target)]
        verdicts = [r.outcome.verdict for r in mine]
        note = "; ".join(f"{r.claim.id}: {r.outcome.verdict} ({r.outcome.detail})" for r in mine)
        edges.append(DrawnEdge(edge.condition, edge.choice, combine(verdicts), note,
                               tuple((i, claim_href(i)) for i in ids), _measured_choice(ds, edge, target)))
    return edges


def _target_of(ds: Dataset, result: ClaimResult) -> str:
    return "cpu" if (result.machine, result.device) in ds.scopes("cpu") else "gpu"


def _measured_edges(ds: Dataset, target: str) -> list[DrawnEdge]:
    scope = primary_scope(ds, target)
    if scope is None:
        return []
    where = f"{scope[0]} ({scope[1]})"
    fastest = _fastest_systems(ds, scope)
    quickest = _quickest_systems(ds, scope)
    return [
        DrawnEdge(f"Fastest on this {target.upper()} (measured)", fastest or "no ranked system", "measured",
                  f"geomean speedup vs torch eager on the common set, {where}; systems whose CI overlaps the best "
                  "are listed too", (("operators suite", suite_href("operators")),)),
        DrawnEdge("Fastest to first inference (measured)", quickest or "no data", "measured",
                  f"lowest median effective compile time (tuning included) among systems verifying >=90% of cells, "
                  f"{where}", (("compile time vs latency", PAGES["compile"]),)),
    ]


def _fastest_llm(ds: Dataset, target: str) -> str:
    """The llm suite's answer on the target: the fastest whole generation (and its ties), labelled with the target."""
    scope = primary_scope(ds, target)
    if scope is None or not len(ds.select(*scope, LLM_EVIDENCE.suites[0])):
        return ""
    fastest = _fastest_systems(ds, scope, LLM_EVIDENCE)
    return f"{target.upper()} only, fastest generation vs transformers eager: {fastest}" if fastest else ""


def _fastest_systems(ds: Dataset, scope: tuple[str, str], evidence: Evidence = CPU_EVIDENCE) -> str:
    ranked = {s: rows[0] for s, rows in best_variants(ds, scope, evidence=evidence).items()
              if rows[0].ranked and rows[0].common}
    if not ranked:
        return ""
    top = max(ranked.values(), key=lambda r: r.common.value)
    tied = [r for r in ranked.values() if r.common.hi >= top.common.lo]
    return ", ".join(f"{r.label} {r.common.value:.3g}x" for r in sorted(tied, key=lambda r: -r.common.value))


def _quickest_systems(ds: Dataset, scope: tuple[str, str]) -> str:
    costs = effective_compile(ds)
    if costs.empty:
        return ""
    costs = costs[(costs["machine"] == scope[0]) & (costs["device"] == scope[1])]
    best: list[tuple[float, str]] = []
    for backend in BACKEND_OF.values():
        for label in sorted(set(costs[costs["label"].str.split("/").str[0] == backend]["label"])):
            mine = costs[costs["label"] == label]
            ok = mine[mine["status"] == "ok"]
            if len(mine) and len(ok) / len(mine) >= 0.9:
                best.append((float(np.median(ok["effective_compile_s"])), label))
    return ", ".join(f"{label} {s:.3g} s" for s, label in sorted(best)[:2])


def _measured_choice(ds: Dataset, edge: SeedEdge, target: str) -> str:
    """What the data would put at the end of the edge, for the edges a measurement can answer."""
    scope = primary_scope(ds, target)
    if scope is None:
        return ""
    if edge.condition == "NVIDIA GPU only":
        return _fastest_systems(ds, scope)
    suites = ("models",) if "Just works" in edge.condition else ("operators", "models")
    cov = {b: ok / total for b, (ok, total) in coverage_by_backend(ds, *scope, suites)[0].items() if total}
    if not cov:
        return ""
    top = max(cov.values())
    return "broadest: " + ", ".join(f"{b} {v:.0%}" for b, v in sorted(cov.items()) if v == top)
