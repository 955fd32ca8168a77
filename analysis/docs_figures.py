"""Every figure the docs quote, computed from the committed results and written between markers.

A generated block in a Markdown file (README.md, docs/*.md) looks like this:

    <!-- figures:run-times -->
    | run | suite | ... |
    <!-- /figures -->

`python -m analysis report` (`nox -s report`) rewrites every block from the runs git tracks under results/, and
tests/test_docs_figures.py fails when a committed doc disagrees with them. Never type a figure by hand: add a
block here (a function in BLOCKS) and put its markers in the doc.

Self-contained on purpose: it reads runs with `suites.results.read_records` and manifests with `json`.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.settings_table import HEADER, settings_rows
from suites.machine import REPO_ROOT
from suites.results import read_records
from suites.stats import record_key, timing_ci

DOC_FILES = ("README.md", "docs/*.md")
# A block's markers start their lines (an indented example of them is left alone).
BLOCK = re.compile(r"^(<!-- figures:(?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)^(<!-- /figures -->)", re.DOTALL | re.M)
EXAMPLE_WORKLOAD, EXAMPLE_CASE = "resnet18", "b1"  # the cell family the README's "reading a result" shows
BASELINE = "torch-eager"
# One variant per backend in that example (the full matrix is on the site's workload page).
EXAMPLE_VARIANTS = ("torch-eager/default", "inductor/default", "xla/default", "onnxruntime/default",
                    "iree/stablehlo", "tvm/untuned", "tvm/tuned", "triton/default")


@dataclass(frozen=True)
class CommittedRuns:
    """The committed runs: one row per record (`records`), one manifest per run id (`manifests`)."""

    records: pd.DataFrame
    manifests: dict[str, dict[str, Any]]
    machine_of_run: dict[str, str]


def tracked_files(results_dir: Path) -> set[Path] | None:
    """Files git tracks under `results_dir` (None when git cannot tell: then every file counts)."""
    done = subprocess.run(["git", "ls-files", "-z", "--", "."], cwd=results_dir, capture_output=True, check=False)
    if done.returncode != 0:
        return None
    return {(results_dir / name).resolve() for name in done.stdout.decode().split("\0") if name}


def load_committed_runs(results_dir: Path) -> CommittedRuns:
    """Every run under results_dir/<machine>/ that git tracks (manifest and records both)."""
    tracked = tracked_files(results_dir)
    rows: list[dict[str, Any]] = []
    manifests: dict[str, dict[str, Any]] = {}
    machine_of_run: dict[str, str] = {}
    for manifest_path in sorted(results_dir.glob("*/*.manifest.json")):
        if tracked is not None and manifest_path.resolve() not in tracked:
            continue
        run_id = manifest_path.name.removesuffix(".manifest.json")
        machine = manifest_path.parent.name
        manifests[run_id] = json.loads(manifest_path.read_text(encoding="utf-8"))
        machine_of_run[run_id] = machine
        records, _ = read_records(manifest_path.with_name(f"{run_id}.jsonl"))
        for record in records:
            timing = record.get("timing") or {}
            verification = record.get("verification") or {}
            low, high = timing_ci(timing, record_key(run_id, record["cell"]))
            load = record.get("load_avg") or (None, None)
            rows.append({
                "machine": machine, "run_id": run_id, "cell": record["cell"], "suite": record.get("suite", "operators"),
                "backend": record["backend"], "variant": record["variant"], "workload": record["workload"],
                "case": record["case"], "device": record["device"], "dtype": record["dtype"],
                "status": record["status"], "median_s": timing.get("median_s"), "ci_low_s": low, "ci_high_s": high,
                "error": verification.get("error"), "tolerance": verification.get("tolerance"),
                "tuning_s": (record.get("details") or {}).get("tuning_s"), "finished_utc": record.get("finished_utc"),
                "load_start": load[0], "load_end": load[1], "compile_s": record.get("compile_s"),
                "first_run_s": record.get("first_run_s"), "llm": record.get("llm"), "reason": record.get("reason")})
    records_frame = pd.DataFrame(rows)
    if len(records_frame):
        # A resumed run may hold a cell twice: its last record counts.
        records_frame = records_frame.drop_duplicates(["run_id", "cell"], keep="last").reset_index(drop=True)
    return CommittedRuns(records_frame, manifests, machine_of_run)


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def run_wall_s(manifest: dict[str, Any], finished: list[str]) -> float:
    """Wall time of a run: the sum of its sessions. A session killed before writing its `finished_utc` ends at
    the last record finished before the next session started."""
    sessions = manifest.get("sessions", [])
    total = 0.0
    for number, session in enumerate(sessions):
        start = _time(session["started_utc"])
        end_text = session.get("finished_utc")
        if not end_text:
            until = sessions[number + 1]["started_utc"] if number + 1 < len(sessions) else "9999"
            inside = [t for t in finished if session["started_utc"] <= t < until]
            end_text = max(inside) if inside else session["started_utc"]
        total += (_time(end_text) - start).total_seconds()
    return total


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None or pd.isna(seconds) else f"{seconds * 1e3:.1f}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def suite_backends(suite: str) -> list[str]:
    """The backends registered for a suite (what a run without --backends would have run)."""
    from backends import backend_names, get_backend

    return [name for name in backend_names() if suite in get_backend(name).capabilities.suites]


def run_times(runs: CommittedRuns) -> str:
    """Per committed run: what it ran, its cells and ok count, its wall time and the TVM tuning inside it."""
    rows = []
    for run_id, manifest in runs.manifests.items():
        cells = runs.records[runs.records["run_id"] == run_id] if len(runs.records) else runs.records
        selection = manifest.get("selection", {})
        what = selection.get("suite", "operators")
        what += f" ({selection.get('scope', 'default')}" + (
            f": {', '.join(selection['workloads'])})" if selection.get("scope") != "default" or selection.get("cases")
            else ")")
        if selection.get("cases"):
            what += f" cases {', '.join(selection['cases'])}"
        if len(selection.get("backends", [])) == 1:
            what += f", {selection['backends'][0]} only"
        elif "--backends" in manifest.get("command", ""):
            left_out = sorted(set(suite_backends(selection.get("suite", "operators"))) - set(selection["backends"]))
            what += f", without {', '.join(left_out)}" if left_out else ""
        tuning = cells["tuning_s"].fillna(0).sum() if len(cells) else 0.0
        wall = run_wall_s(manifest, [t for t in cells.get("finished_utc", pd.Series(dtype=str)) if t])
        rows.append([f"`{run_id}`", runs.machine_of_run[run_id], what, str(len(cells)),
                     str(int((cells["status"] == "ok").sum()) if len(cells) else 0), str(len(manifest["sessions"])),
                     _minutes(wall), _minutes(tuning)])
    return markdown_table(["run", "machine", "suite (scope)", "cells", "ok", "sessions", "wall time",
                           "TVM tuning"], rows)


def machines(runs: CommittedRuns) -> str:
    """Per machine directory: the CPU and generation its manifests record, and how many runs it holds."""
    described: dict[str, list[dict[str, Any]]] = {}
    for run_id, manifest in runs.manifests.items():
        described.setdefault(runs.machine_of_run[run_id], []).append(manifest.get("machine", {}))
    rows = []
    for machine, found in sorted(described.items()):
        models = sorted({m.get("cpu_model", "?") for m in found})
        generations = sorted({m.get("cpu_family_model", "?") for m in found})
        cores = sorted({str(m.get("usable_cores", "?")) for m in found})
        rows.append([f"`{machine}/`", ", ".join(models), ", ".join(generations), ", ".join(cores), str(len(found))])
    return markdown_table(["directory", "CPU model", "family/model", "cores", "runs"], rows)


def example_result(runs: CommittedRuns) -> str:
    """ResNet-18 at batch 1 from one run per machine (the one holding most of the example's backends, then the
    newest): its median and CI, speedup over torch eager of the same run, error. A ratio never spans two runs."""
    if not len(runs.records):
        return "(no committed runs)\n"
    frame = runs.records
    cells = frame[(frame["workload"] == EXAMPLE_WORKLOAD) & (frame["case"] == EXAMPLE_CASE)
                  & (frame["backend"] + "/" + frame["variant"]).isin(EXAMPLE_VARIANTS)]
    rows = []
    for (machine, device, dtype), scope in cells.groupby(["machine", "device", "dtype"], sort=True):
        with_baseline = scope[scope["run_id"].isin(scope[scope["backend"] == BASELINE]["run_id"])]
        if with_baseline.empty:
            continue
        run_id = max(with_baseline.groupby("run_id").size().items(), key=lambda item: (item[1], item[0]))[0]
        group = with_baseline[with_baseline["run_id"] == run_id]
        baseline = group[(group["backend"] == BASELINE) & (group["status"] == "ok")]["median_s"]
        order = group["backend"].str.cat(group["variant"], sep="/").map(EXAMPLE_VARIANTS.index)
        rows.append([f"**{machine}, {device}, {dtype}, run `{run_id}`**", "", "", "", "", ""])
        for _, r in group.assign(order=order).sort_values("order").iterrows():
            ok = r["status"] == "ok"
            speedup = f"{baseline.iloc[0] / r['median_s']:.2f}x" if ok and len(baseline) else "-"
            interval = f"[{_ms(r['ci_low_s'])}, {_ms(r['ci_high_s'])}]" if ok else "-"
            error = f"{r['error']:.1e} / {r['tolerance']:.1e}" if pd.notna(r["error"]) else "-"
            rows.append([f"{r['backend']}/{r['variant']}", r["status"], _ms(r["median_s"]) if ok else "-", interval,
                         speedup, error])
    return markdown_table(["backend/variant", "status", "median ms", "95% CI ms", "speedup", "error / tolerance"],
                          rows)


def interference(runs: CommittedRuns) -> str:
    """torch eager ResNet-18 at batch 1 in every committed run: the same cell, measured beside other work or not."""
    if not len(runs.records):
        return "(no committed runs)\n"
    cells = runs.records[(runs.records["cell"] == f"{BASELINE}/default/{EXAMPLE_WORKLOAD}/{EXAMPLE_CASE}")
                         & (runs.records["status"] == "ok")]
    rows = []
    for _, r in cells.sort_values(["machine", "run_id"]).iterrows():
        load = "not recorded" if pd.isna(r["load_start"]) else f"{r['load_start']:.2f} -> {r['load_end']:.2f}"
        rows.append([f"`{r['run_id']}`", r["machine"], _ms(r["median_s"]),
                     f"[{_ms(r['ci_low_s'])}, {_ms(r['ci_high_s'])}]", load])
    return markdown_table(["run", "machine", "median ms", "95% CI ms", "load average (start -> end)"], rows)


def settings(runs: CommittedRuns) -> str:
    """Every variant's settings with their sources (analysis/settings_table.py), from the adapters themselves."""
    return markdown_table(HEADER, [[cell.replace("|", "\\|") for cell in row] for row in settings_rows()])


def _phase(row: dict[str, Any], phase: str) -> tuple[float, float | None, float | None] | None:
    """(median, CI low, CI high) of one phase of an llm record (its rerun interval, as the docs show cells)."""
    timing = (row["llm"] or {}).get(phase) if isinstance(row["llm"], dict) else None
    if not timing:
        return None
    low, high = timing_ci(timing, record_key(row["run_id"], f"{row['cell']}/{phase}"))
    return timing["median_s"], low, high


def llm_results(runs: CommittedRuns) -> str:
    """The newest llm run of each machine: per case and backend, TTFT, decode tokens/s, compile cost, compilations."""
    frame = runs.records
    llm = frame[frame["suite"] == "llm"] if len(frame) else frame
    if llm.empty:
        return "(no committed llm run)\n"
    rows = []
    for machine, mine in llm.groupby("machine", sort=True):
        run_id = max(mine["run_id"])
        rows.append([f"**{machine}, run `{run_id}`**", *[""] * 7])
        for r in mine[mine["run_id"] == run_id].sort_values(["case", "backend", "variant"]).to_dict("records"):
            ttft, step = _phase(r, "prefill"), _phase(r, "decode_step")
            counters = r["llm"] if isinstance(r["llm"], dict) else {}
            compile_s = sum(v for v in (r["compile_s"], r["first_run_s"]) if isinstance(v, float | int))
            rate = f"{1 / step[0]:.1f} [{1 / step[2]:.1f}, {1 / step[1]:.1f}]" if step and step[1] and step[2] else "-"
            rows.append([
                f"{r['case']}: {r['backend']}/{r['variant']}", r["status"] if r["status"] == "ok" else
                f"{r['status']}: {str(r['reason']).split(':')[0][:60]}",
                f"{_ms(ttft[0])} [{_ms(ttft[1])}, {_ms(ttft[2])}]" if ttft else "-",
                f"{_ms(step[0])}" if step else "-", rate, f"{compile_s:.0f}" if r["status"] == "ok" else "-",
                str(counters.get("compilations", "-")), str(counters.get("recompilations", "-"))])
    return markdown_table(["case: backend/variant", "status", "TTFT ms [95% CI]", "decode step ms",
                           "decode tok/s [95% CI]", "compile s (with first run)", "compilations", "recompilations"],
                          rows)


def zoo_results(runs: CommittedRuns) -> str:
    """Per machine and zoo model: torch eager's median, and each backend/variant's speedup over it in the same run
    (the newest run that has both), or the status it ended with; TVM's tuning minutes where it tuned."""
    frame = runs.records
    zoo = frame[frame["suite"] == "zoo"] if len(frame) else frame
    if zoo.empty:
        return "(no committed zoo run)\n"
    zoo = zoo.assign(label=zoo["backend"] + "/" + zoo["variant"])
    out = []
    for machine, mine in zoo.groupby("machine", sort=True):
        eager = mine[(mine["label"] == f"{BASELINE}/default") & (mine["status"] == "ok")]
        base = {(r["run_id"], r["workload"]): r["median_s"] for r in eager.to_dict("records")}
        labels = sorted(set(mine["label"]) - {f"{BASELINE}/default"})
        rows = []
        for workload, cells in mine.groupby("workload", sort=True):
            newest = cells.sort_values("run_id").drop_duplicates("label", keep="last").set_index("label")
            eager_ms = [m for (run, w), m in sorted(base.items()) if w == workload]
            row = [f"`{workload}`", _ms(eager_ms[-1]) if eager_ms else "-"]
            for label in labels:
                if label not in newest.index:
                    row.append("")
                    continue
                r = newest.loc[label]
                paired = base.get((r["run_id"], workload))
                row.append(f"{paired / r['median_s']:.2f}x" if r["status"] == "ok" and paired else r["status"])
            tuning = newest["tuning_s"].dropna() if "tuning_s" in newest else []
            row.append(f"{tuning.sum() / 60:.0f}" if len(tuning) and tuning.sum() > 0 else "-")
            rows.append(row)
        ok = [str(int(((mine["label"] == label) & (mine["status"] == "ok")).sum())) for label in labels]
        rows.append(["**ok cells**", str(len(eager)), *ok, ""])
        out.append(f"**{machine}** (runs {', '.join(f'`{r}`' for r in sorted(set(mine['run_id'])))})\n\n"
                   + markdown_table(["model", f"{BASELINE} ms", *labels, "TVM tuning min"], rows))
    return "\n".join(out)


BLOCKS: dict[str, Callable[[CommittedRuns], str]] = {
    "run-times": run_times, "machines": machines, "example-result": example_result, "interference": interference,
    "settings": settings, "llm-results": llm_results, "zoo-results": zoo_results}


def render_blocks(results_dir: Path) -> dict[str, str]:
    runs = load_committed_runs(results_dir)
    return {name: make(runs) for name, make in BLOCKS.items()}


def rewrite(text: str, blocks: dict[str, str]) -> str:
    """`text` with every figures block replaced by its generated body; an unknown block name is an error."""
    def body(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in blocks:
            raise KeyError(f"unknown figures block {name!r} (known: {', '.join(sorted(blocks))})")
        return f"{match.group(1)}{blocks[name]}{match.group(4)}"
    return BLOCK.sub(body, text)


def doc_paths(repo_root: Path = REPO_ROOT) -> list[Path]:
    return sorted(path for pattern in DOC_FILES for path in repo_root.glob(pattern))


def stale_docs(results_dir: Path, repo_root: Path = REPO_ROOT, blocks: dict[str, str] | None = None) -> list[Path]:
    """Docs whose generated blocks differ from what the committed results give (`blocks`: already rendered)."""
    blocks = render_blocks(results_dir) if blocks is None else blocks
    return [path for path in doc_paths(repo_root) if rewrite(path.read_text(encoding="utf-8"), blocks)
            != path.read_text(encoding="utf-8")]


def update_docs_figures(results_dir: Path, repo_root: Path = REPO_ROOT) -> list[Path]:
    """Rewrite the figures blocks of the repo's docs; only from the repo's own results/ (not a scratch folder)."""
    if results_dir.resolve() != (repo_root / "results").resolve():
        return []
    blocks = render_blocks(results_dir)
    written = []
    for path in doc_paths(repo_root):
        old = path.read_text(encoding="utf-8")
        new = rewrite(old, blocks)
        if new != old:
            path.write_text(new, encoding="utf-8")
            written.append(path)
    return written
