"""MetaSchedule tuning curves: best-so-far GFLOP/s against trials and tuning wall time, plus the deployment footprint.

    python -m suites tune run [--max-trials 256] [--workloads matmul,conv2d] [--cost-models xgb,random]
                              [--cases LABEL,...] [--resume RUN_ID] [--deploy all|kernel|none]
    python -m suites tune status [RUN_ID]
(`nox -s tune` runs the first; `python -m backends.tvm.tuning_curves ...` is the same command.)

A study of the TVM backend, so it sits beside it. It drives cells through the suite's isolated runner: this module and
deploy.py are the studies under backends/ that import suites/ (only the command line imports them; adapters never).

Per series (workload, case, cost model): one MetaSchedule run to the largest budget, in its own process
(`backends.tvm.metaschedule.tune_series`, records kept under results/cache/tvm-ms/ and reused by later runs); then every
budget point (0, 32, 64, ... up to --max-trials) is compiled from the first N trials' best record and timed in
a fresh process by the suite's isolated runner (verified against the float64 reference like every cell).
NumPy (OpenBLAS) is timed the same way as the line the curve should cross. Each finished point is appended to
results/<machine>/tuning/<run-id>.jsonl; `--resume RUN_ID` skips what that file already holds.
The record format is documented in results/README.md ("Tuning curves").
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from backends.tvm.metaschedule import BUDGETS, COST_MODELS
from models import get_workload
from suites.machine import REPO_ROOT, machine_slug, usable_cores
from suites.matrix import Cell
from suites.results import append_record, new_run_id, read_jsonl, repair_tail
from suites.runner import CellOptions, cell_environment, run_cell_isolated

SCHEMA = 1
SERIES_CASES = {"matmul": ("1024x1024x1024", "512x512x512"), "conv2d": ("1x64x56x56-o64-s1", "1x3x224x224-o64-s1")}
DEFAULT_MAX_TRIALS = 256
# A tuning that takes longer than this is killed (normal: 1-4 s per trial on 2 cores).
TUNE_TIMEOUT_BASE_S, TUNE_TIMEOUT_PER_TRIAL_S = 900.0, 30.0
DEPLOY_MODEL = "mlp"  # falls back to matmul through the same Relax path while the MLP workload is absent
# What a point keeps from the tvm-ms cell's details (where on the curve its kernel came from).
POINT_DETAILS = ("trials_used", "tuning_s", "best_trial", "tuner_best_s", "trials_available", "series")
_started = time.perf_counter()


def log(message: str) -> None:
    print(f"[tuning {time.perf_counter() - _started:7.1f} s] {message}", file=sys.stderr, flush=True)


def cases_for(args: argparse.Namespace, workload: str) -> tuple[str, ...]:
    """The --cases that belong to `workload`, or the study's own cases for it."""
    if not args.cases:
        return SERIES_CASES[workload]
    return tuple(c for c in args.cases if any(k.label == c for k in get_workload(workload).cases))


def budgets_up_to(max_trials: int) -> list[int]:
    return sorted({b for b in BUDGETS if b <= max_trials} | {0, max_trials})


def read_points(path: Path) -> list[dict[str, Any]]:
    """Records of a run file (a line cut short by a kill, or of another schema, is skipped)."""
    records, _ = read_jsonl(path, check=lambda r: None if isinstance(r, dict) and r.get("schema") == SCHEMA
                            else f"not a schema-{SCHEMA} tuning record")
    return records


def base_record(run_id: str, kind: str, key: str, workload: str, case: str) -> dict[str, Any]:
    return {"schema": SCHEMA, "run_id": run_id, "kind": kind, "key": key, "workload": workload, "case": case,
            "machine": machine_slug()}


def cell_fields(result: dict[str, Any]) -> dict[str, Any]:
    """What a point keeps from the isolated runner's result (the same fields as a benchmark record)."""
    keep = ("status", "reason", "compile_s", "first_run_s", "verification", "timing", "gflops", "peak_rss_mb",
            "wall_s", "traceback", "stderr_tail")
    fields = {k: result[k] for k in keep if k in result}
    fields["median_s"] = result.get("timing", {}).get("median_s")
    return fields


def tune_in_subprocess(spec: dict[str, Any], threads: int) -> dict[str, Any]:
    """Run `tune_series` in a fresh process (progress goes to our stderr); returns its series meta or an error.

    Its own process group, killed whole on timeout or Ctrl-C (MetaSchedule's builder and runner pools included).
    """
    env = {**os.environ, **cell_environment("tvm-ms", threads),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    timeout_s = TUNE_TIMEOUT_BASE_S + TUNE_TIMEOUT_PER_TRIAL_S * spec["max_trials"]
    command = [sys.executable, "-m", "backends.tvm.tuning_curves", "_tune", json.dumps(spec)]
    proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"error": f"tuning gave no result within {timeout_s:g} s"}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    lines = stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return {"error": f"tuning process exited {proc.returncode}"}
    return json.loads(lines[-1])


def _tune_entry(spec_text: str) -> int:
    """Child side of tune_in_subprocess: tune, then print the series meta as the last stdout line."""
    from backends.tvm.metaschedule import META_FILE, tune_series

    spec = json.loads(spec_text)
    workload = get_workload(spec["workload"])
    case = workload.case(spec["case"])
    series = tune_series(workload, case, spec["cost_model"], spec["max_trials"], spec["threads"],
                         Path(spec["cache_dir"]), spec["trials_per_iter"], label=spec["label"])
    print(json.dumps({**json.loads((series / META_FILE).read_text()), "series": series.name}))
    return 0


def run_series(args: argparse.Namespace, out: Path, run_id: str, done: set[str], workload: str, case: str,
               cost_model: str) -> None:
    options = CellOptions(threads=args.threads, timeout_s=args.timeout, cache_dir=str(args.cache_dir))
    label = f"{workload} {case} {cost_model}"
    keys = {b: f"point/{workload}/{case}/{cost_model}/{b}" for b in budgets_up_to(args.max_trials)}
    todo = [b for b, key in keys.items() if key not in done]
    if not todo:
        return
    series_key = f"series/{workload}/{case}/{cost_model}/{args.max_trials}"
    if any(b > 0 for b in todo):
        log(f"{label}: tuning to {args.max_trials} trials (reused if already in {args.cache_dir / 'tvm-ms'})")
        spec = {"workload": workload, "case": case, "cost_model": cost_model, "max_trials": args.max_trials,
                "threads": args.threads, "cache_dir": str(args.cache_dir / "tvm-ms"),
                "trials_per_iter": args.trials_per_iter, "label": label}
        meta = tune_in_subprocess(spec, args.threads)
        if "error" in meta:
            # Nothing recorded past budget 0, so that --resume tunes again.
            log(f"{label}: {meta['error']}; its tuned points are left for --resume")
            todo = [b for b in todo if b == 0]
        elif series_key not in done:
            append_record(out, {**base_record(run_id, "series", series_key, workload, case), **meta})
            done.add(series_key)
    for budget in todo:
        result = run_cell_isolated(Cell("tvm-ms", f"{cost_model}-{budget}", workload, case), options)
        details = result.get("details", {})
        record = {**base_record(run_id, "point", keys[budget], workload, case), "cost_model": cost_model,
                  "budget": budget, "threads": args.threads, **cell_fields(result),
                  **{k: details.get(k) for k in POINT_DETAILS},
                  "flops": get_workload(workload).flops(get_workload(workload).case(case))}
        append_record(out, record)
        done.add(keys[budget])
        shown = f"{record['gflops']:.1f} GFLOP/s" if result["status"] == "ok" else f"{result['status']}: " \
            f"{result.get('reason', '')[:120]}"
        log(f"{label}: {budget} trials -> {shown} (fresh process)")


def run_baseline(args: argparse.Namespace, out: Path, run_id: str, done: set[str], workload: str, case: str) -> None:
    key = f"baseline/{workload}/{case}/numpy"
    if key in done:
        return
    options = CellOptions(threads=args.threads, timeout_s=args.timeout, cache_dir=str(args.cache_dir))
    result = run_cell_isolated(Cell("numpy", "default", workload, case), options)
    append_record(out, {**base_record(run_id, "baseline", key, workload, case), "backend": "numpy",
                        "threads": args.threads, **cell_fields(result)})
    done.add(key)
    log(f"{workload} {case}: numpy {result.get('gflops', 0):.1f} GFLOP/s ({result['status']})")


def run_deploy(args: argparse.Namespace, out: Path, run_id: str, done: set[str]) -> None:
    """Export a tuned kernel (matmul 1024, xgb, the largest budget) and a tuned model; reload runtime-only."""
    from backends.tvm.deploy import RUNTIME_ENV, run_fresh
    from models import workload_names

    model = DEPLOY_MODEL if DEPLOY_MODEL in workload_names() else "matmul"
    model_case = get_workload(model).default_cases[0] if model != "matmul" else "512x512x512"
    first = args.workloads[0]
    artifacts = [("kernel", first, cases_for(args, first)[0], f"{args.cost_models[0]}-{args.max_trials}"),
                 ("model", model, model_case, "tuned")]
    for kind, workload, case, variant in artifacts:
        key = f"deploy/{kind}/{workload}/{case}/{variant}"
        if key in done or (kind == "model" and args.deploy != "all"):
            continue
        backend = "tvm-ms" if kind == "kernel" else "tvm"
        cache = args.cache_dir / backend
        where = args.deploy_dir / f"{workload}-{case}-{variant}-c{args.threads}"
        spec = {"kind": kind, "workload": workload, "case": case, "variant": variant, "threads": args.threads,
                "cache_dir": str(cache), "path": str(where / f"{kind}.so")}
        env = cell_environment(backend, args.threads)
        log(f"deploy {kind} {workload} {case} {variant}: export (full TVM) ...")
        exported = run_fresh("export", spec, env, where, args.timeout)
        if kind == "model" and exported.get("details", {}).get("tuning_cached") is False:
            exported = run_fresh("export", spec, env, where, args.timeout)  # time it in a process that did not tune
        loaded = run_fresh("load", spec, {**env, RUNTIME_ENV: "1"}, where, args.timeout) \
            if "error" not in exported else {"error": "not exported"}
        record = {**base_record(run_id, "deploy", key, workload, case), "artifact": kind, "variant": variant,
                  "threads": args.threads, "path": str(Path(spec["path"]).relative_to(REPO_ROOT))
                  if Path(spec["path"]).is_relative_to(REPO_ROOT) else spec["path"],
                  "bytes": exported.get("bytes"), "in_process": exported, "runtime_only": loaded,
                  "status": "ok" if "error" not in exported and "error" not in loaded else "error"}
        if record["status"] == "ok":
            record["latency_ratio"] = loaded["median_s"] / exported["median_s"]
        append_record(out, record)
        done.add(key)
        log(f"deploy {kind}: {record['status']}, {record['bytes']} bytes, runtime-only/in-process latency "
            f"{record.get('latency_ratio', float('nan')):.2f}")


def open_run(results_dir: Path, resume: str, prog: str) -> tuple[str, Path] | None:
    """(run id, its file) of a new tuning run, or of `resume` after cutting a line a kill left short; None (and a
    one-line error) when `resume` names no run on this machine."""
    tuning_dir = results_dir / machine_slug() / "tuning"
    run_id = resume or new_run_id()
    out = tuning_dir / f"{run_id}.jsonl"
    if resume and not out.exists():
        print(f"{prog}: error: no tuning run {resume!r} in {tuning_dir}", file=sys.stderr)
        return None
    repair_tail(out)
    return run_id, out


def command_run(args: argparse.Namespace) -> int:
    opened = open_run(args.results_dir, args.resume, "tuning_curves")
    if opened is None:
        return 2
    run_id, out = opened
    done = {r["key"] for r in read_points(out)}
    log(f"run {run_id} -> {out} ({len(done)} records already there); max {args.max_trials} trials, "
        f"{args.threads} threads")
    for workload in args.workloads:
        for case in cases_for(args, workload):
            run_baseline(args, out, run_id, done, workload, case)
            for cost_model in args.cost_models:
                run_series(args, out, run_id, done, workload, case, cost_model)
    if args.deploy != "none":
        run_deploy(args, out, run_id, done)
    log(f"done: {out}")
    return 0


def command_status(args: argparse.Namespace) -> int:
    tuning_dir = args.results_dir / machine_slug() / "tuning"
    runs = sorted(tuning_dir.glob("*.jsonl"))
    if not runs:
        print(f"tuning_curves: error: no tuning runs in {tuning_dir}", file=sys.stderr)
        return 2
    path = tuning_dir / f"{args.run_id}.jsonl" if args.run_id else runs[-1]
    if not path.exists():
        print(f"tuning_curves: error: no tuning run {args.run_id!r} in {tuning_dir}", file=sys.stderr)
        return 2
    print(f"{path}")
    for r in read_points(path):
        if r["kind"] == "point":
            speed = f"{r['gflops']:8.1f} GFLOP/s" if r.get("status") == "ok" else f"{r.get('status')}"
            tuned = f"{r.get('tuning_s') or 0:7.0f} s tuning" if r["budget"] else ""
            where = f"{r['workload']:7s} {r['case']:20s} {r['cost_model']:6s}"
            print(f"  {where} {r['budget']:4d} trials  {speed}  {tuned}")
        elif r["kind"] == "baseline":
            print(f"  {r['workload']:7s} {r['case']:20s} numpy        {r.get('gflops') or 0:8.1f} GFLOP/s")
        elif r["kind"] == "deploy":
            print(f"  deploy {r['artifact']} {r['workload']} {r['case']}: {r['status']}, {r.get('bytes')} bytes, "
                  f"latency ratio {r.get('latency_ratio')}")
    return 0


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def build_parser() -> argparse.ArgumentParser:
    from suites.cli import OneLineParser

    parser = OneLineParser(prog="python -m suites tune", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    run = commands.add_parser("run", help="tune (or reuse tuning records), time every budget point, export")
    run.add_argument("--workloads", type=_names, default=tuple(SERIES_CASES), help="matmul,conv2d (default both)")
    run.add_argument("--cases", type=_names, default=(), help="case labels (default: the study's cases)")
    run.add_argument("--cost-models", type=_names, default=COST_MODELS, help="xgb,random (default both)")
    run.add_argument("--max-trials", type=int, default=DEFAULT_MAX_TRIALS, help="largest budget (default 256)")
    run.add_argument("--trials-per-iter", type=int, default=16, help="candidates measured per search round")
    run.add_argument("--threads", type=int, default=usable_cores())
    run.add_argument("--timeout", type=float, default=900.0, help="per timed point, seconds")
    run.add_argument("--resume", default="", metavar="RUN_ID", help="continue this run, skipping finished points")
    run.add_argument("--deploy", choices=("all", "kernel", "none"), default="all",
                     help="export + runtime-only reload of the tuned kernel and a tuned model (default all)")
    run.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    run.add_argument("--cache-dir", type=Path, default=REPO_ROOT / "results" / "cache")
    run.add_argument("--deploy-dir", type=Path, default=REPO_ROOT / "build" / "deploy",
                     help="where exported libraries go (not committed; records keep their size)")
    status = commands.add_parser("status", help="print the points of a tuning run (default: the latest)")
    status.add_argument("run_id", nargs="?", default="")
    status.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    return parser


def check(args: argparse.Namespace) -> str | None:
    """Why the arguments of `run` are invalid (None when they are valid)."""
    unknown = [w for w in args.workloads if w not in SERIES_CASES]
    if unknown:
        return f"unknown workload {', '.join(unknown)} (valid: {', '.join(SERIES_CASES)})"
    for case in args.cases:
        if not any(c.label == case for w in args.workloads for c in get_workload(w).cases):
            return f"no case {case!r} in {', '.join(args.workloads)}"
    if args.cases and not all(cases_for(args, w) for w in args.workloads):
        return "--cases leaves a workload without a case (give one for each, or drop the workload)"
    bad = [c for c in args.cost_models if c not in COST_MODELS]
    if bad or not args.cost_models:
        return f"unknown cost model {', '.join(bad)} (valid: {', '.join(COST_MODELS)})"
    if args.max_trials < 1 or args.trials_per_iter < 1 or args.threads < 1:
        return "--max-trials, --trials-per-iter and --threads must be positive"
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_tune"]:
        return _tune_entry(argv[1])
    args = build_parser().parse_args(argv)
    if args.command == "status":
        return command_status(args)
    problem = check(args)
    if problem:
        print(f"tuning_curves: error: {problem}", file=sys.stderr)
        return 2
    return command_run(args)


if __name__ == "__main__":
    sys.exit(main())
