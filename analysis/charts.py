"""Plotly figures for the site. Every string taken from results is HTML-escaped, because plotly renders a subset of
HTML in names and labels; plotly turns the entities back into plain characters when it draws them.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from analysis.aggregate import GeomeanRow
from suites.stats import Estimate

LAYOUT = {"template": "none", "font": {"family": "system-ui, sans-serif", "size": 12},
          "margin": {"l": 60, "r": 20, "t": 40, "b": 50}, "hovermode": "closest"}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def to_json(fig: go.Figure) -> str:
    """Deterministic JSON of a figure (the standard-library engine, not orjson, whatever is installed)."""
    return pio.to_json(fig, validate=False, pretty=False, engine="json")


def _figure(title: str, height: int = 420, **layout: Any) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(**LAYOUT, title={"text": esc(title)}, height=height, **layout)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)  # long backend and case names stay readable
    return fig


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def geomean_bars(rows: Sequence[GeomeanRow], title: str) -> go.Figure:
    """Geomean speedup per label with its 95% CI; unranked labels (partial coverage) use their own cells."""
    shown = [(r, r.common if r.ranked and r.common else r.own) for r in rows]
    shown = sorted([(r, e) for r, e in shown if e is not None], key=lambda t: t[1].value)
    fig = _figure(title, height=max(260, 28 * len(shown) + 120), xaxis={"type": "log", "title": "speedup (x)"})
    fig.add_trace(go.Bar(
        orientation="h", y=[esc(r.label) + ("" if r.ranked else " (partial)") for r, _ in shown],
        x=[e.value for _, e in shown],
        error_x={"type": "data", "symmetric": False, "array": [e.hi - e.value for _, e in shown],
                 "arrayminus": [e.value - e.lo for _, e in shown]},
        marker={"color": [color(0) if r.ranked else "#aaaaaa" for r, _ in shown]},
        hovertext=[f"{esc(r.label)}: {e.fmt()} over {e.n} cells; coverage {r.ok_cells}/{r.total}" for r, e in shown],
        hoverinfo="text"))
    fig.add_vline(x=1.0, line={"color": "#444", "dash": "dot"})
    return fig


def grouped_bars(groups: dict[str, list[tuple[str, Estimate]]], title: str, axis: str) -> go.Figure:
    """One bar per (group, label) with its 95% interval, the groups side by side (e.g. a rate per case)."""
    fig = _figure(title, yaxis={"title": esc(axis)}, barmode="group")
    for i, (group, bars) in enumerate(groups.items()):
        fig.add_trace(go.Bar(
            name=esc(group), x=[esc(label) for label, _ in bars], y=[est.value for _, est in bars],
            error_y={"type": "data", "symmetric": False, "array": [est.hi - est.value for _, est in bars],
                     "arrayminus": [est.value - est.lo for _, est in bars]},
            marker={"color": color(i)}))
    return fig


def speedup_heatmap(speedups: pd.DataFrame, title: str) -> go.Figure:
    """Rows: workload case; columns: label; colour: log2 speedup vs the baseline (blue faster, red slower)."""
    table = speedups.assign(cell=speedups["workload"] + " " + speedups["case"]).pivot_table(
        index="cell", columns="label", values="speedup", aggfunc="first").sort_index()
    z = [[math.log2(v) if pd.notna(v) else None for v in row] for row in table.to_numpy()]
    text = [[f"{v:.3g}x" if pd.notna(v) else "" for v in row] for row in table.to_numpy()]
    fig = _figure(title, height=max(300, 26 * len(table) + 160))
    fig.add_trace(go.Heatmap(z=z, x=[esc(c) for c in table.columns], y=[esc(i) for i in table.index], text=text,
                             texttemplate="%{text}", colorscale="RdBu", zmid=0, zmin=-3, zmax=3,
                             colorbar={"title": "log2 speedup"}, hovertemplate="%{y} %{x}: %{text}<extra></extra>"))
    return fig


def latency_boxes(rows: list[dict[str, Any]], title: str) -> go.Figure:
    """Latency distribution per label from the stored quantiles: box = q1..q3, whiskers = p10..p90."""
    fig = _figure(title, height=max(260, 30 * len(rows) + 120), xaxis={"type": "log", "title": "latency (s)"})
    for i, r in enumerate(sorted(rows, key=lambda r: -r["median_s"])):
        name = esc(r["label"])
        fig.add_trace(go.Box(
            orientation="h", y=[name], name=name, q1=[r["q1_s"] or r["median_s"]], median=[r["median_s"]],
            q3=[r["q3_s"] or r["median_s"]], lowerfence=[r["p10_s"] or r["min_s"]],
            upperfence=[r["p90_s"] or r["max_s"]], marker={"color": color(i)}, showlegend=False))
    return fig


def median_errorbars(rows: list[dict[str, Any]], title: str) -> go.Figure:
    """Median latency with its 95% bootstrap CI per label."""
    rows = sorted(rows, key=lambda r: r["median_s"])
    fig = _figure(title, height=max(260, 26 * len(rows) + 120), xaxis={"type": "log", "title": "median latency (s)"})
    fig.add_trace(go.Scatter(
        mode="markers", y=[esc(r["label"]) for r in rows], x=[r["median_s"] for r in rows],
        error_x={"type": "data", "symmetric": False,
                 "array": [(r["ci95_high_s"] or r["median_s"]) - r["median_s"] for r in rows],
                 "arrayminus": [r["median_s"] - (r["ci95_low_s"] or r["median_s"]) for r in rows]},
        marker={"size": 9, "color": color(0)}, hoverinfo="x+y"))
    return fig


def ladder_bars(steps: list[dict[str, Any]], references: dict[str, float], title: str) -> go.Figure:
    """GFLOP/s of each schedule step, with NumPy and the measured peak as horizontal lines."""
    fig = _figure(title, yaxis={"title": "GFLOP/s", "type": "log"})
    names = [esc(s["label"]) for s in steps]
    fig.add_trace(go.Bar(x=names, y=[s["gflops"] for s in steps], name="schedule", marker={"color": color(0)},
                         hovertemplate="%{x}: %{y:.3g} GFLOP/s<extra></extra>"))
    _reference_lines(fig, references, [names[0], names[-1]])
    return fig


def _reference_lines(fig: go.Figure, references: dict[str, float], span: list[Any]) -> None:
    """Horizontal reference lines as traces (shapes would need log10 coordinates on a log axis)."""
    for i, (name, value) in enumerate(sorted(references.items())):
        fig.add_trace(go.Scatter(x=span, y=[value, value], mode="lines", name=f"{esc(name)} {value:.3g}",
                                 line={"color": color(i + 3), "dash": "dash"}, hoverinfo="name"))


def tuning_curves(points: pd.DataFrame, x: str, title: str, references: dict[str, float]) -> go.Figure:
    """Best-so-far GFLOP/s against trials or tuning seconds, one line per case and cost model."""
    fig = _figure(title, xaxis={"title": "trials" if x == "trials" else "tuning time (s)"},
                  yaxis={"title": "best GFLOP/s so far"})
    for i, ((case, model), group) in enumerate(points.groupby(["case", "cost_model"], sort=True)):
        group = group.sort_values(x)
        fig.add_trace(go.Scatter(x=group[x].tolist(), y=group["best_gflops"].tolist(), mode="lines+markers",
                                 name=esc(f"{case} {model}"), line={"color": color(i)}))
    if len(points):
        _reference_lines(fig, references, [float(points[x].min()), float(points[x].max())])
    return fig


def model_curve(points: list[dict[str, Any]], x: str, title: str, references: dict[str, float]) -> go.Figure:
    """A whole-model tuning curve: TVM's median latency (ms, 95% interval) against trials per task or cumulative
    tuning minutes; the rivals of the same suite runs as horizontal lines."""
    xs = [p["budget"] if x == "budget" else (p["tuning_s"] or 0.0) / 60 for p in points]
    fig = _figure(title, xaxis={"title": "trials per task" if x == "budget" else "tuning time in all (min)",
                                **({"type": "log"} if x == "budget" else {})}, yaxis={"title": "median latency (ms)"})
    ms = [p["median_s"] * 1e3 for p in points]
    fig.add_trace(go.Scatter(
        x=xs, y=ms, mode="lines+markers", name="TVM tuned", line={"color": color(0)},
        error_y={"type": "data", "symmetric": False,
                 "array": [(p["ci_high_s"] or p["median_s"]) * 1e3 - m for p, m in zip(points, ms, strict=True)],
                 "arrayminus": [m - (p["ci_low_s"] or p["median_s"]) * 1e3 for p, m in zip(points, ms, strict=True)]}))
    if points:
        _reference_lines(fig, references, [min(xs), max(xs)])
    return fig


def roofline_chart(points: pd.DataFrame, peak: float, bandwidth: float, title: str) -> go.Figure:
    """Log-log: arithmetic intensity vs achieved GFLOP/s, under the roof min(peak, AI x bandwidth)."""
    fig = _figure(title, height=520, xaxis={"type": "log", "title": "arithmetic intensity (FLOP/byte)"},
                  yaxis={"type": "log", "title": "GFLOP/s"})
    lo = min([0.01, *points["ai"].tolist()]) / 2
    hi = max([100.0, *points["ai"].tolist()]) * 2
    ridge = peak / bandwidth
    xs = [lo, ridge, hi] if lo < ridge < hi else [lo, hi]
    fig.add_trace(go.Scatter(x=xs, y=[min(peak, x * bandwidth) for x in xs], mode="lines", name="roof (DRAM)",
                             line={"color": "#222"}))
    for i, (label, group) in enumerate(points.groupby("label", sort=True)):
        fig.add_trace(go.Scatter(
            x=group["ai"].tolist(), y=group["gflops"].tolist(), mode="markers", name=esc(label),
            marker={"color": color(i), "size": 8},
            hovertext=[f"{esc(label)} {esc(w)} {esc(c)}: " + (f"{f:.1%} of the DRAM roof" if f == f and f is not None
                                                               else esc(roof))
                       for w, c, f, roof in zip(group["workload"], group["case"], group["fraction"], group["ceiling"],
                                                strict=True)], hoverinfo="text"))
    return fig


def compile_scatter(points: pd.DataFrame, title: str) -> go.Figure:
    """Effective compile time (tuning included) against median latency, one colour per label."""
    fig = _figure(title, height=520, xaxis={"type": "log", "title": "compile + tuning (s)"},
                  yaxis={"type": "log", "title": "median latency (s)"})
    for i, (label, group) in enumerate(points.groupby("label", sort=True)):
        fig.add_trace(go.Scatter(
            x=group["effective_compile_s"].tolist(), y=group["median_s"].tolist(), mode="markers", name=esc(label),
            marker={"color": color(i), "size": 8},
            hovertext=[f"{esc(label)} {esc(w)} {esc(c)}" for w, c in zip(group["workload"], group["case"],
                                                                         strict=True)], hoverinfo="text+x+y"))
    return fig
