"""The llm suite's page: time to first token, decode tokens/s and how a step grows with the context, compile cost
and recompilations, KV cache and memory, per backend; and why the others did not run."""

from __future__ import annotations

from analysis import charts
from analysis.html import Page, Raw, e, fmt, num, table
from analysis.links import slug, workload_href
from analysis.llm import LLM_BASELINE, LLM_SUITE, LlmCell, context_growth, llm_cells, llm_geomeans
from analysis.report import Report
from suites.stats import Estimate

INTRO = ("Greedy generation with a KV cache on a Llama-style decoder (transformers' LlamaForCausalLM from a "
         "LlamaConfig, seeded weights): a prefill of P prompt tokens gives the first token (time to first token), "
         "then N - 1 decode steps give the rest. Every backend decodes the way its experts do (docs/llm.md); a "
         "cell is ok only if its generated token ids equal the float64 reference's and its logits are within the "
         "tolerance. CPU only: the seeds speak of GPU serving stacks (vLLM, MLC-LLM), which are not measured here.")


def _ms(est: Estimate | None) -> str:
    return f"{est.value * 1e3:.3g} [{est.lo * 1e3:.3g}, {est.hi * 1e3:.3g}]" if est else ""


def _rate(est: Estimate | None) -> str:
    return f"{est.value:.3g} [{est.lo:.3g}, {est.hi:.3g}]" if est else ""


def _mb(value: int | None) -> str:
    return fmt(value / 2**20) if value is not None else ""


def _row(c: LlmCell) -> list[object]:
    compile_total = (c.compile_s or 0.0) + (c.first_run_s or 0.0) if c.status == "ok" else None
    return [c.label, c.status, num(_ms(c.ttft)), num(_rate(c.prefill_tokens_per_s)),
            num(c.prefill_vs_baseline.fmt() if c.prefill_vs_baseline else ""), num(_ms(c.decode_step)),
            num(_rate(c.decode_tokens_per_s)), num(c.decode_vs_baseline.fmt() if c.decode_vs_baseline else ""),
            num(_ms(c.generation)), num(fmt(compile_total)), num(fmt(c.compilations)), num(fmt(c.recompilations)),
            num(_mb(c.kv_cache_bytes)), num(fmt(c.peak_rss_run_mb))]


HEADERS = ["backend/variant", "status", "TTFT ms [95% CI]", "prefill tok/s", f"prefill vs {LLM_BASELINE}",
           "decode step ms [95% CI]", "decode tok/s [95% CI]", f"decode vs {LLM_BASELINE}",
           "whole generation ms [95% CI]", "compile s (incl. first run)", "compilations", "recompilations",
           "KV cache MiB", "peak RSS run MB"]


def llm_page(report: Report) -> Page:
    page = Page("LLM suite: prefill and decode")
    page.p(INTRO)
    cells = llm_cells(report.ds)
    if not cells:
        page.p("No llm-suite records: run `python -m suites run --suite llm`.", "note")
        return page
    for machine, device in sorted({(c.machine, c.device) for c in cells}):
        here = [c for c in cells if (c.machine, c.device) == (machine, device)]
        page.h2(f"{machine} ({device})", slug(f"{machine}-{device}"))
        rows = llm_geomeans(report.ds, machine, device)
        if any(r.own for r in rows):
            page.p(f"Whole generation (prefill + decode), geomean speedup over {LLM_BASELINE} across the cases, "
                   "common-set rule:", "note")
            page.add(table(["backend/variant", "geomean [95% CI]", "verified", "cells"], [
                [r.label, (r.common if r.ranked and r.common else r.own).fmt() if (r.common or r.own) else "-",
                 num(r.ok_cells), num(r.total)] for r in sorted(rows, key=lambda r: -(r.own.value if r.own else 0))]))
        for case in sorted({c.case for c in here}):
            mine = [c for c in here if c.case == case]
            tokens = next((c for c in mine if c.prompt_tokens), None)
            sizes = f": prompt {tokens.prompt_tokens}, {tokens.new_tokens} new tokens" if tokens else ""
            page.add(Raw(f'<h3 id="{e(slug(machine + "-" + case))}">case {e(case)}{e(sizes)} '
                         f'(<a href="{e(workload_href(LLM_SUITE, "llama", case))}">raw timings</a>)</h3>'))
            page.add(table(HEADERS, [_row(c) for c in sorted(mine, key=lambda c: (c.status != "ok", c.label))]))
        page.chart(charts.grouped_bars(
            {case: [(c.label, c.decode_tokens_per_s) for c in here if c.case == case and c.decode_tokens_per_s]
             for case in sorted({c.case for c in here})}, f"decode tokens/s on {machine} (95% rerun interval)",
            "decode tokens/s"))
        growth = context_growth(here)
        if len(growth):
            page.p("How one decode step grows with the context (fixed-size caches read every slot, so they grow "
                   "with P + N; the eager DynamicCache reads only the filled ones):", "note")
            page.add(table(["backend/variant", "step at p128 ms", "step at p512 ms", "p512 / p128"], [
                [r["label"], num(fmt(r["short_s"] * 1e3)), num(fmt(r["long_s"] * 1e3)), num(f"{r['growth']:.3g}x")]
                for r in growth.to_dict("records")]))
        failed = [c for c in here if c.status != "ok"]
        if failed:
            page.add(Raw("<h3>Not run, or not verified</h3>"),
                     *(Raw(f"<p><b>{e(c.label)} {e(c.case)}</b> ({e(c.status)}): {e(c.reason)}</p>") for c in failed))
    return page
