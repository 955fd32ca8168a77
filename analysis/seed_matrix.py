"""The seed's comparison matrix, and the same matrix rated from measurements by documented rules.

The seed's stars are transcribed from 000_84592de20c79ad1d.txt ("2. Comparison Matrix"); the measured stars are
computed here from the newest records. Dimensions no harness on this machine can measure are shown as
"not measured", citing the seed. A system whose every cell was refused before running (no GPU for a GPU-only
backend, no support) is "not measured" too, never ✗: a cell that could not run is no evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.aggregate import GeomeanRow, coverage_by_backend, geomeans
from analysis.compile_cost import effective_compile
from analysis.dataset import REFUSED, Dataset
from analysis.links import PAGES, suite_href
from analysis.llm import LLM_BACKEND_OF, LLM_BASELINE

SEED = "000_84592de20c79ad1d.txt"
SYSTEMS = ("TVM", "XLA", "Triton", "ORT", "MLIR")
BACKEND_OF = {"TVM": "tvm", "XLA": "xla", "Triton": "triton", "ORT": "onnxruntime", "MLIR": "iree",
              "Inductor": "inductor"}
EXTRA_SYSTEMS = ("Inductor",)  # measured here, not rated by the seed
# (stars, the seed's note); 0 = ✗, None = N/A
SEED_MATRIX: dict[str, dict[str, tuple[int | None, str] | str]] = {
    "Primary use case": {"TVM": "Multi-target deploy", "XLA": "TPU + Google ecosystem",
                         "Triton": "NVIDIA GPU kernels", "ORT": "Production inference",
                         "MLIR": "Compiler infrastructure"},
    "Input format": {"TVM": "Relay/Relax/ONNX", "XLA": "StableHLO (from PT)", "Triton": "Python DSL (triton)",
                     "ORT": "ONNX", "MLIR": "Dialects (varied)"},
    "GPU performance (NVIDIA)": {"TVM": (4, "tuned"), "XLA": (4, "fused"), "Triton": (5, "hand opt"),
                                 "ORT": (3, "EP dep."), "MLIR": (None, "infra")},
    "CPU performance": {"TVM": (4, "LLVM"), "XLA": (3, "XLA CPU"), "Triton": (0, "GPU only"), "ORT": (4, "MLAS"),
                        "MLIR": (None, "")},
    "Edge / mobile": {"TVM": (5, "µTVM"), "XLA": (2, "TF Lite"), "Triton": (0, ""), "ORT": (3, "NNAPI"),
                      "MLIR": (4, "IREE")},
    "Browser / WASM": {"TVM": (5, "WebGPU"), "XLA": (0, ""), "Triton": (0, ""), "ORT": (3, "WASM EP"),
                       "MLIR": (2, "")},
    "Auto-tuning": {"TVM": (5, "MetaSched"), "XLA": (3, "internal"), "Triton": (3, "Autotune"), "ORT": (0, ""),
                    "MLIR": (0, "")},
    "Ease of use": {"TVM": (2, "steep"), "XLA": (4, "torch_xla"), "Triton": (4, "Python"), "ORT": (5, "1-liner"),
                    "MLIR": (1, "C++ API")},
    "LLM support": {"TVM": (4, "MLC-LLM"), "XLA": (4, "Pax/Jax"), "Triton": (5, "vLLM"), "ORT": (3, "GenAI"),
                    "MLIR": (2, "")},
    "Community size": {"TVM": (3, "~900"), "XLA": (4, "Google"), "Triton": (4, "OpenAI"), "ORT": (5, "MSFT"),
                       "MLIR": (5, "LLVM")},
    "Open governance": {"TVM": (5, "Apache"), "XLA": (2, "Google"), "Triton": (3, "OpenAI"), "ORT": (3, "MSFT"),
                        "MLIR": (5, "LLVM")},
}
NOT_MEASURABLE = {
    "Edge / mobile": "no edge or mobile device in the harness",
    "Browser / WASM": "no browser runtime is benchmarked",
    "Community size": "not a property of measurements",
    "Open governance": "not a property of measurements",
}
SPEEDUP_STARS = ((1.5, 5), (1.1, 4), (0.9, 3), (0.5, 2))  # geomean speedup vs torch eager -> stars, else 1
COVERAGE_STARS = ((0.95, 5), (0.8, 4), (0.6, 3), (0.3, 2))
TUNING_STARS = ((2.0, 5), (1.0, 4), (0.5, 3), (0.1, 2))  # speed doublings per tuning minute
LLM_WORKLOADS = ("attention", "bert", "gpt", "encoder", "decoder", "transformer")
RULES = {
    "CPU performance": "geomean speedup vs torch eager over the operators and models suites, on the common set of "
                       "cells (each system by its best variant covering >=50% of cells): >=1.5x 5, >=1.1x 4, "
                       ">=0.9x 3, >=0.5x 2, else 1; cells tried and none ran: ✗; every cell refused before running "
                       "(unsupported/unavailable, e.g. no GPU): not measured",
    "GPU performance (NVIDIA)": "as CPU performance, on a GPU machine's results",
    "Auto-tuning": "tuned vs untuned variant of the same system (tvm untuned->tuned, inductor default->max-autotune):"
                   " log2(geomean gain) per median tuning minute per cell (floor 0.1 min): >=2 5, >=1 4, >=0.5 3, "
                   ">=0.1 2, else 1. The gain is relative to the system's own untuned code, so a weak default "
                   "inflates it; no tuned variant measured: not measured",
    "Ease of use": "share of the cells it was run on that any variant verifies (all targets): >=95% 5, >=80% 4, "
                   ">=60% 3, >=30% 2, else 1; "
                   "minus 1 star if the out-of-box variant's median time to compile exceeds 10 s, minus 2 beyond "
                   "60 s; minus 1 if out of the box it is under 0.5x torch eager (geomean), i.e. it needs tuning to "
                   "be usable (min 1); API complexity itself is not measured",
    "LLM support": "CPU only, from the llm suite where it ran: the CPU performance rule on whole greedy generations "
                   "(prefill + decode with a KV cache, a 125 M-parameter Llama) vs transformers' eager generate "
                   "(llm-torch-eager), each system by its best llm-* variant; a system whose LLM cells were all "
                   "refused (TVM: MLC LLM's pipeline is not wired in) is not measured. Without llm records: proxy, "
                   "the CPU performance rule on transformer workloads (attention, BERT, GPT cells). Serving stacks "
                   "(vLLM, MLC-LLM) and GPUs, which the seed rates, are not measured",
}


@dataclass(frozen=True)
class Rating:
    stars: int | None  # 0 = ✗; None = no star rating (not measured, descriptive, no data)
    note: str
    kind: str  # measured, not-measured, descriptive, no-data
    href: str = ""


def stars_text(stars: int | None) -> str:
    if stars is None:
        return "n/a"
    return "✗" if stars == 0 else "★" * stars + "☆" * (5 - stars)


def _stars(value: float, table: tuple[tuple[float, int], ...]) -> int:
    return next((stars for threshold, stars in table if value >= threshold), 1)


def primary_scope(ds: Dataset, target: str) -> tuple[str, str] | None:
    """The machine of a target with the most records (the one the overview rates)."""
    scopes = ds.scopes(target)
    if not scopes:
        return None
    sizes = {s: len(ds.select(*s, ok=False)) for s in scopes}
    return max(scopes, key=lambda s: (sizes[s], s))


def only_workloads(ds: Dataset, workloads: tuple[str, ...] | None) -> Dataset:
    """The dataset with only the workloads whose name contains one of `workloads` (None: all)."""
    if workloads is None or ds.cur.empty:
        return ds
    return ds.subset(ds.cur["workload"].str.contains("|".join(workloads)))


@dataclass(frozen=True)
class Evidence:
    """Which cells a performance rating reads: suites, baseline, and each system's backend in them."""

    suites: tuple[str, ...] = ("operators", "models")
    baseline: str = "torch-eager"
    backend_of: tuple[tuple[str, str], ...] = tuple(BACKEND_OF.items())
    href: str = suite_href("operators")
    prefix: str = ""  # what the note says first (e.g. what the cells measure)


CPU_EVIDENCE = Evidence()
# The llm suite: whole greedy generations against transformers' eager generate(), on the llm-* adapters.
LLM_EVIDENCE = Evidence(("llm",), LLM_BASELINE, tuple(LLM_BACKEND_OF.items()), suite_href("llm"),
                        "CPU-only, measured generation (prefill + decode with a KV cache) vs transformers eager: ")


def refused_only(ds: Dataset, scope: tuple[str, str] | None, backend: str,
                 suites: tuple[str, ...] = CPU_EVIDENCE.suites) -> tuple[int, str]:
    """How many cells of `backend` in `suites` there are on `scope` (None: every machine) when every one was
    refused before running, and the first refusal's reason ((0, "") when any was really attempted, or none exists)."""
    frame = ds.select(*scope, ok=False) if scope is not None else ds.cur
    mine = frame[(frame["backend"] == backend) & frame["suite"].isin(list(suites))] if len(frame) else frame
    if len(mine) and mine["status"].isin(REFUSED).all():
        return len(mine), str(mine.iloc[0].get("reason") or "")
    return 0, ""


def not_measured(refused: int, reason: str = "") -> Rating:
    why = reason if len(reason) <= 100 else reason[:100].rsplit(" ", 1)[0] + " ..."
    return Rating(None, f"not measured: all {refused} cells were refused before running ({why or 'e.g. no GPU here'})"
                  ", which is no evidence either way", "not-measured", PAGES["failures"])


def best_variants(ds: Dataset, scope: tuple[str, str], workloads: tuple[str, ...] | None = None,
                  evidence: Evidence = CPU_EVIDENCE) -> dict[str, list[GeomeanRow]]:
    """system -> its variants' geomean rows, best first (ranked on the common set, then by own geomean)."""
    rows, _ = geomeans(only_workloads(ds, workloads), *scope, evidence.suites, evidence.baseline)
    out = {}
    for system, backend in evidence.backend_of:
        mine = [r for r in rows if r.label.split("/")[0] == backend]
        if mine:
            out[system] = sorted(mine, key=lambda r: (not (r.ranked and r.common), -(r.own.value if r.own else 0)))
    return out


def _performance(ds: Dataset, scope: tuple[str, str] | None, workloads: tuple[str, ...] | None,
                 evidence: Evidence = CPU_EVIDENCE) -> dict[str, Rating]:
    if scope is None:
        return {}
    out: dict[str, Rating] = {}
    backend_of = dict(evidence.backend_of)
    for system, mine in best_variants(ds, scope, workloads, evidence).items():
        best = mine[0]
        refused, reason = refused_only(only_workloads(ds, workloads), scope, backend_of[system], evidence.suites)
        if refused:
            out[system] = not_measured(refused, reason)
            continue
        if best.ranked and best.common:
            est = best.common
            out[system] = Rating(_stars(est.value, SPEEDUP_STARS), f"{evidence.prefix}{best.label}: {est.fmt()} vs "
                                 f"eager over {est.n} common cells", "measured", evidence.href)
        elif best.own:
            out[system] = Rating(_stars(best.own.value, SPEEDUP_STARS), f"{evidence.prefix}{best.label}: "
                                 f"{best.own.fmt()} over its own {best.ok_cells}/{best.total} cells (partial "
                                 "coverage, unranked)", "measured", evidence.href)
        else:
            out[system] = Rating(0, f"{evidence.prefix}no cell ran ({best.attempted} attempted)", "measured",
                                 PAGES["failures"])
    return out


def _llm_support(ds: Dataset, scope: tuple[str, str] | None) -> dict[str, Rating]:
    """From the llm suite where it ran on the machine, else the proxy (transformer cells of the other suites)."""
    if scope is not None and len(ds.select(*scope, LLM_EVIDENCE.suites[0], ok=False)):
        return _performance(ds, scope, None, LLM_EVIDENCE)
    return _performance(ds, scope, LLM_WORKLOADS)


def _auto_tuning(ds: Dataset, scope: tuple[str, str] | None) -> dict[str, Rating]:
    if scope is None:
        return {}
    machine, device = scope
    costs = effective_compile(ds)
    out: dict[str, Rating] = {}
    for system, (untuned, tuned) in {"TVM": ("tvm/untuned", "tvm/tuned"),
                                     "Inductor": ("inductor", "inductor/max-autotune")}.items():
        rows, _ = geomeans(ds, machine, device, ("operators", "models"), untuned, labels=[tuned])
        if not rows or rows[0].own is None or costs.empty:
            continue
        gain = rows[0].own
        here = costs[(costs["machine"] == machine) & (costs["device"] == device) & (costs["status"] == "ok")]
        a = here[here["label"] == untuned].set_index(["suite", "workload", "case"])["effective_compile_s"]
        b = here[here["label"] == tuned].set_index(["suite", "workload", "case"])["effective_compile_s"]
        extra = (b - a).dropna()
        minutes = max(float(np.median(extra)) / 60.0, 0.1) if len(extra) else 0.1
        rate = math.log2(gain.value) / minutes
        out[system] = Rating(_stars(rate, TUNING_STARS) if rate > 0 else 1,
                             f"{tuned} vs {untuned}: {gain.fmt()} faster for a median {minutes:.2g} min of extra "
                             f"compile per cell ({rate:.2g} doublings/min)", "measured", PAGES["compile"])
    return out


def _ease(ds: Dataset) -> dict[str, Rating]:
    costs = effective_compile(ds)
    out: dict[str, Rating] = {}
    totals: dict[str, list[int]] = {}
    for machine, device in ds.scopes():
        for backend in BACKEND_OF.values():  # each over the cells it was run on
            counts, _ = coverage_by_backend(ds, machine, device, ("operators", "models"), [backend])
            ok, total = counts.get(backend, (0, 0))  # none when the machine ran neither suite (e.g. only llm)
            totals.setdefault(backend, [0, 0])
            totals[backend][0] += ok
            totals[backend][1] += total
    for system, backend in BACKEND_OF.items():
        if backend not in totals or totals[backend][1] == 0:
            continue
        ok, total = totals[backend]
        refused, _ = refused_only(ds, None, backend)
        if ok == 0 and refused:
            out[system] = not_measured(refused)
            continue
        if ok == 0:
            out[system] = Rating(0, f"0/{total} cells ran", "measured", PAGES["failures"])
            continue
        stars = _stars(ok / total, COVERAGE_STARS)
        default = _out_of_box(ds, backend)
        times = costs[(costs["label"] == default) & (costs["status"] == "ok")]["effective_compile_s"] \
            if not costs.empty else []
        median = float(np.median(times)) if len(times) else 0.0
        stars -= 2 if median > 60 else 1 if median > 10 else 0
        speed = _out_of_box_speed(ds, default)
        stars -= 1 if speed is not None and speed < 0.5 else 0
        speed_text = f", {speed:.3g}x eager out of the box" if speed is not None else ""
        out[system] = Rating(max(1, stars), f"{ok}/{total} cells verified; {default} median compile {median:.3g} s"
                             f"{speed_text}", "measured", PAGES["compile"])
    return out


def _out_of_box_speed(ds: Dataset, label: str) -> float | None:
    """Geomean speedup vs eager of the out-of-box variant over its own cells on the primary CPU machine."""
    scope = primary_scope(ds, "cpu")
    if scope is None:
        return None
    rows, _ = geomeans(ds, *scope, ("operators", "models"), "torch-eager", labels=[label])
    return rows[0].own.value if rows and rows[0].own else None


def _out_of_box(ds: Dataset, backend: str) -> str:
    """The first variant a run's manifest lists for the backend (its default configuration)."""
    for run_id in sorted(ds.loaded.manifests, reverse=True):
        variants = (ds.loaded.manifests[run_id].get("variants") or {}).get(backend)
        if variants:
            return backend if variants[0] == "default" else f"{backend}/{variants[0]}"
    return backend


def _variants(ds: Dataset) -> dict[str, Rating]:
    out = {}
    for system, backend in BACKEND_OF.items():
        names = sorted(set(ds.cur[ds.cur["backend"] == backend]["variant"])) if len(ds.cur) else []
        if names:
            out[system] = Rating(None, "variants measured: " + ", ".join(names), "descriptive")
    return out


def measured_matrix(ds: Dataset) -> dict[str, dict[str, Rating]]:
    """dimension -> system -> measured rating (absent system: no data for it)."""
    cpu, gpu = primary_scope(ds, "cpu"), primary_scope(ds, "gpu")
    matrix: dict[str, dict[str, Rating]] = {
        "Primary use case": {s: Rating(None, "descriptive: not rated", "descriptive") for s in SYSTEMS},
        "Input format": _variants(ds),
        "GPU performance (NVIDIA)": _performance(ds, gpu, None),
        "CPU performance": _performance(ds, cpu, None),
        "Auto-tuning": _auto_tuning(ds, cpu),
        "Ease of use": _ease(ds),
        "LLM support": _llm_support(ds, cpu),
    }
    for dimension, why in NOT_MEASURABLE.items():
        matrix[dimension] = {s: Rating(None, f"not measured: {why} (seed: {SEED})", "not-measured")
                             for s in (*SYSTEMS, *EXTRA_SYSTEMS)}
    if gpu is None:
        matrix["GPU performance (NVIDIA)"] = {s: Rating(None, "not measured: no GPU results under results/",
                                                        "not-measured") for s in (*SYSTEMS, *EXTRA_SYSTEMS)}
    for dimension, row in matrix.items():
        if dimension not in ("Primary use case", *NOT_MEASURABLE):
            why = "no tuned/untuned variant pair measured" if dimension == "Auto-tuning" else "no results"
            for system in (*SYSTEMS, *EXTRA_SYSTEMS):
                row.setdefault(system, Rating(None, f"not measured: {why}", "no-data"))
    return {dimension: matrix.get(dimension, {}) for dimension in SEED_MATRIX}


def seed_rating(dimension: str, system: str) -> tuple[int | None, str] | str | None:
    return SEED_MATRIX[dimension].get(system)


def difference(dimension: str, system: str, rating: Rating | None) -> int | None:
    """measured stars - seed stars, when both are star ratings."""
    seed = seed_rating(dimension, system)
    if rating is None or rating.stars is None or not isinstance(seed, tuple) or seed[0] is None:
        return None
    return rating.stars - seed[0]
