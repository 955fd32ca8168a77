"""The llm suite in the report: per-phase figures with intervals, ratios only within a run, the seed matrix's LLM row
and the flowchart's LLM edge decided from llm records (CPU only), and the proxy kept where there are none."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analysis.dataset import Dataset
from analysis.flowchart import draw
from analysis.llm import LLM_BASELINE, context_growth, llm_cells
from analysis.llm_page import llm_page
from analysis.load import load_results
from analysis.report import build_report, text_summary
from suites.stats import summarize
from tests.synthetic_runs import failed, ok, write_run

M = "box-2c"
A, B = "20260101T000000Z-aaaa", "20260201T000000Z-bbbb"
TVM_REASON = "TVM's LLM decoding is MLC LLM's own pipeline: not implemented in mlcompare yet"


def _phase(median_s: float, seed: int) -> dict[str, Any]:
    """A phase timing over three processes whose pooled median is exactly `median_s`."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(3, 11)) * 0.01
    noise -= np.median(noise)
    processes = [list(median_s * (1.0 + row)) for row in noise]
    return summarize([s for p in processes for s in p], f"phase-{seed}", processes)


def llm_ok(backend: str, variant: str, case: str, prefill_s: float, step_s: float, seed: int,
           compilations: int = 2, recompilations: int = 0) -> dict[str, Any]:
    prompt = 128 if case == "p128" else 512
    generation = prefill_s + 31 * step_s
    return ok(backend, variant, "llama", case, generation, suite="llm", seed=seed, compile_s=4.0, peak_rss_run_mb=900.0,
              llm={"prefill": _phase(prefill_s, seed), "decode_step": _phase(step_s, seed + 1),
                   "prompt_tokens": prompt, "new_tokens": 32, "compilations": compilations,
                   "recompilations": recompilations, "kv_cache_bytes": (prompt + 32) * 24576})


def _llm_run(results: Path) -> None:
    records = []
    for k, case in enumerate(("p128", "p512")):
        grow = 1.0 if case == "p128" else 1.5
        records += [llm_ok(LLM_BASELINE, "default", case, 0.40 * grow, 0.040 * grow, 10 * k, compilations=0),
                    llm_ok("llm-onnxruntime", "default", case, 0.20 * grow, 0.020 * grow, 10 * k + 2),
                    llm_ok("llm-xla", "default", case, 0.80 * grow, 0.080 * grow, 10 * k + 4),
                    failed("llm-tvm", "default", "llama", case, "unsupported", TVM_REASON, suite="llm")]
    write_run(results, M, A, records)


def test_the_llm_page_shows_each_phase_with_its_interval_and_its_speedup(tmp_path: Path) -> None:
    _llm_run(tmp_path)
    ds = Dataset(load_results(tmp_path))
    cells = {(c.label, c.case): c for c in llm_cells(ds)}
    ort = cells[("llm-onnxruntime", "p128")]
    assert ort.ttft.value == pytest.approx(0.20) and ort.ttft.lo <= 0.20 <= ort.ttft.hi
    assert ort.decode_tokens_per_s.value == pytest.approx(50.0)
    assert ort.decode_tokens_per_s.lo <= 50.0 <= ort.decode_tokens_per_s.hi
    assert ort.prefill_tokens_per_s.value == pytest.approx(128 / 0.20)
    assert ort.decode_vs_baseline.value == pytest.approx(2.0) and ort.prefill_vs_baseline.value == pytest.approx(2.0)
    assert cells[(LLM_BASELINE, "p128")].decode_vs_baseline is None  # no ratio of the baseline with itself
    assert cells[("llm-tvm", "p512")].ttft is None and cells[("llm-tvm", "p512")].reason == TVM_REASON
    growth = context_growth(llm_cells(ds)).set_index("label")["growth"]
    assert growth["llm-xla"] == pytest.approx(1.5)
    html = llm_page(build_report(tmp_path)).render([])
    assert "decode tok/s" in html and "50 [" in html and "2x [" in html and escape(TVM_REASON) in html


def test_a_phase_ratio_is_never_formed_across_runs(tmp_path: Path) -> None:
    write_run(tmp_path, M, A, [llm_ok(LLM_BASELINE, "default", "p128", 0.4, 0.04, 1)])
    write_run(tmp_path, M, B, [llm_ok("llm-onnxruntime", "default", "p128", 0.2, 0.02, 2)])
    (ort,) = [c for c in llm_cells(Dataset(load_results(tmp_path))) if c.label == "llm-onnxruntime"]
    assert ort.decode_step is not None and ort.decode_vs_baseline is None and ort.prefill_vs_baseline is None


def test_the_llm_row_and_edge_are_decided_from_the_llm_suite(tmp_path: Path) -> None:
    _llm_run(tmp_path)
    report = build_report(tmp_path)
    row = report.matrix["LLM support"]
    assert row["ORT"].stars == 5 and row["ORT"].note.startswith("CPU-only") and "llm-onnxruntime" in row["ORT"].note
    assert row["XLA"].stars == 2  # 0.5x eager
    assert row["TVM"].stars is None and row["TVM"].kind == "not-measured" and "MLC LLM" in row["TVM"].note
    assert row["Triton"].kind in ("no-data", "not-measured") and row["Triton"].stars is None
    (edge,) = [e for e in draw(report.ds, report.claims, "cpu") if e.condition == "LLM serving"]
    assert edge.verdict == "not measured"  # the seed's serving stacks are not what the suite runs
    assert edge.measured_choice.startswith("CPU only") and "llm-onnxruntime 2x" in edge.measured_choice
    assert "llm-xla" not in edge.measured_choice  # its interval is far below the fastest one's
    assert f"llm on {M}/cpu: geomean speedup vs {LLM_BASELINE}" in text_summary(report)


def test_without_llm_records_the_row_stays_the_transformer_proxy(tmp_path: Path) -> None:
    write_run(tmp_path, M, A, [ok("torch-eager", "default", "bert", "b1", 2e-3, suite="models", seed=1),
                               ok("onnxruntime", "default", "bert", "b1", 1e-3, suite="models", seed=2)])
    report = build_report(tmp_path)
    assert report.matrix["LLM support"]["ORT"].stars == 5
    assert not report.matrix["LLM support"]["ORT"].note.startswith("CPU-only")
    (edge,) = [e for e in draw(report.ds, report.claims, "cpu") if e.condition == "LLM serving"]
    assert edge.measured_choice == ""
