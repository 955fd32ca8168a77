"""Whole-model TVM tuning curves: a model's latency against MetaSchedule trials per task and cumulative tuning time.

    python -m suites tune-model run [--workload resnet18] [--case b1] [--variant tuned|tuned-prepack]
                                    [--budgets 8,16,32,64,128,256]
                                    [--max-trials 1024] [--gain 0.05] [--resume RUN_ID]
    python -m suites tune-model status [RUN_ID]

Per budget N (trials per tuning task), smallest first:
1. **Tune** in a fresh process (the `tvm/tuned` cell with MLCOMPARE_TVM_TRIALS=N): the database of budget N starts
   from the previous budget's records (MLCOMPARE_TVM_CONTINUE_FROM) and runs only the extra trials, so its cost is
   cumulative, as a user who kept tuning would pay it. Databases live under <results-dir>/cache/tvm/ (commit them).
2. **Measure** with the suite's own runner (`python -m suites run`): the tuned TVM cell and the baselines (torch
   eager, ONNX Runtime, Inductor with freezing) of the same case in one run, interleaved rounds of fresh processes,
   verified against the float64 reference. The TVM process only compiles from the database: no tuning inside it.
3. Append a point to results/<machine>/tuning/<run-id>.jsonl: the budget, the cumulative tuning time, the suite
   run's id, TVM's median with its interval, and each baseline's median from that same run.
After the listed budgets, the budget keeps doubling while a doubling still gains more than --gain (default 5%), up to
--max-trials. A long doubling can be split into resumable chunks by listing budgets between (e.g. 64,96,128): each
continues from the one before, and the gain of a doubling is still judged against the point at half the budget.
Every step is resumable: a killed run continues with --resume (a database still tuning when killed is
tuned again; the suite run of a point resumes where it stopped).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backends.tvm.tuning import CONTINUE_ENV, TRIALS_ENV
from backends.tvm.tuning_curves import open_run
from models import get_workload, workload_names
from suites.machine import REPO_ROOT, machine_slug, usable_cores
from suites.matrix import Cell
from suites.results import append_record, read_jsonl, read_records
from suites.runner import CellOptions, run_cell_isolated
from suites.stats import record_key, timing_ci

SCHEMA = 1
DEFAULT_BUDGETS = (8, 16, 32, 64, 128, 256)
# What the curve is drawn against: the experts' path of each rival, measured in the same suite run as each point.
BASELINES = ("torch-eager/default", "onnxruntime/default", "inductor/freezing")
VARIANTS = ("tuned", "tuned-prepack")  # stock tuning, and the experts' (cpu_weight_prepack)
_started = time.perf_counter()


def log(message: str) -> None:
    print(f"[model curve {time.perf_counter() - _started:7.1f} s] {message}", file=sys.stderr, flush=True)


def next_budget(points: list[dict[str, Any]], budgets: tuple[int, ...], max_trials: int, gain: float) -> int | None:
    """The next budget to tune: the listed ones first, then doublings while the last one gained more than `gain`."""
    done = sorted(p["budget"] for p in points)
    todo = [b for b in budgets if b not in done]
    if todo:
        return todo[0]
    if len(done) < 2:
        return None
    by_budget = {p["budget"]: p for p in points}
    # The gain of a doubling: against the point at half the last budget when the curve has one (chunk points such as
    # 96 or 192, which split a long doubling into sessions, do not count as one); else the point before.
    last = by_budget[done[-1]]
    before = by_budget.get(done[-1] // 2) if done[-1] % 2 == 0 else None
    before = before or by_budget[done[-2]]
    if last.get("median_s") is None or before.get("median_s") is None:
        return None
    gained = before["median_s"] / last["median_s"] - 1.0
    following = done[-1] * 2
    return following if gained > gain and following <= max_trials else None


def tune_budget(args: argparse.Namespace, budget: int, previous: int | None) -> dict[str, Any]:
    """Tune the database of `budget` in a fresh process (continuing `previous`); the cell's result."""
    os.environ[TRIALS_ENV] = str(budget)
    os.environ.pop(CONTINUE_ENV, None)
    if previous:
        os.environ[CONTINUE_ENV] = str(previous)
    options = CellOptions(threads=args.threads, timeout_s=args.tune_timeout, cache_dir=str(args.results_dir / "cache"),
                          repeats=1)
    return run_cell_isolated(Cell("tvm", args.variant, args.workload, args.case), options)


def measure_budget(args: argparse.Namespace, budget: int, resume: str | None,
                   started: Callable[[str], None]) -> tuple[int, str | None]:
    """`python -m suites run` of TVM at `budget` beside the baselines (or resume it); (exit code, run id).
    `started(run_id)` is called as soon as the suite names its run, so that a kill after it resumes that run."""
    command = [sys.executable, "-m", "suites", "run", "--results-dir", str(args.results_dir)]
    if resume:
        command += ["--resume", resume]
    else:
        backends = ",".join(dict.fromkeys(label.split("/")[0] for label in (*args.baselines, _tvm(args))))
        command += ["--device", "cpu", "--suite", "models", "--backends", backends,
                    "--variants", ",".join((*args.baselines, _tvm(args))), "--workloads", args.workload,
                    "--cases", args.case,
                    "--threads", str(args.threads), "--repeats", str(args.repeats)]
    env = {**os.environ, TRIALS_ENV: str(budget)}
    env.pop(CONTINUE_ENV, None)  # measuring never tunes: the database of `budget` is already complete
    proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    run_id = resume or None
    for line in proc.stderr:  # the suite's progress, shown as it comes; its first "run ID: ..." line names the run
        sys.stderr.write(line)
        if run_id is None and line.startswith("run ") and ":" in line:
            run_id = line.split()[1].rstrip(":")
            started(run_id)
    return proc.wait(), run_id


def point_record(args: argparse.Namespace, run_id: str, budget: int, tuned: dict[str, Any],
                 suite_run: str) -> dict[str, Any]:
    """The curve's point from the suite run's records: TVM and each baseline, all from that one run."""
    records, _ = read_records(args.results_dir / machine_slug() / f"{suite_run}.jsonl")
    by_label = {f"{r['backend']}/{r['variant']}": r for r in records if r["case"] == args.case}

    def timed(record: dict[str, Any]) -> dict[str, Any]:
        timing = record.get("timing") or {}
        low, high = timing_ci(timing, record_key(suite_run, record["cell"])) if timing else (None, None)
        return {"status": record["status"], "median_s": timing.get("median_s"), "ci_low_s": low, "ci_high_s": high}

    tvm = by_label.get(_tvm(args), {"status": "missing", "reason": f"no {_tvm(args)} record in suite run {suite_run}"})
    mine = timed(tvm) if "cell" in tvm else {"median_s": None, "ci_low_s": None, "ci_high_s": None}
    details = tvm.get("details") or {}
    tuned_details = tuned.get("details") or {}
    workload = get_workload(args.workload)
    baselines = {label: timed(r) for label, r in by_label.items() if label in args.baselines}
    return {"schema": SCHEMA, "run_id": run_id, "kind": "model_point", "key": f"model/{args.workload}/{args.case}/"
            f"{budget}", "machine": machine_slug(), "backend": "tvm", "variant": args.variant, "cost_model": _tvm(args),
            "workload": args.workload, "case": args.case, "budget": budget, "threads": args.threads,
            "status": tvm.get("status", "missing"), "reason": tvm.get("reason", ""),
            "median_s": mine["median_s"], "ci_low_s": mine["ci_low_s"], "ci_high_s": mine["ci_high_s"],
            "best_median_s": mine["median_s"], "flops": workload.flops(workload.case(args.case)),
            "tuning_s": details.get("tuning_s_original"), "tuning_s_this_budget": tuned_details.get("tuning_s"),
            "tuning_tasks": details.get("tuning_tasks"), "tuned_funcs": details.get("tuned_funcs"),
            "continued_from": details.get("continued_from"), "suite_run": suite_run, "baselines": baselines}


def command_run(args: argparse.Namespace) -> int:
    opened = open_run(args.results_dir, args.resume, "model_curve")
    if opened is None:
        return 2
    run_id, out = opened
    records = read_points(out)
    if records:  # a resumed curve keeps its own model, case and variant, whatever the defaults say
        args.workload, args.case = records[0]["workload"], records[0]["case"]
        args.variant = records[0].get("variant", "tuned")
    log(f"run {run_id} -> {out}: {args.workload} {args.case}, budgets {','.join(map(str, args.budgets))} then "
        f"doubling while a doubling gains > {args.gain:.0%} (max {args.max_trials}), {args.threads} threads")
    while (budget := next_budget([r for r in records if r["kind"] == "model_point"], args.budgets,
                                 args.max_trials, args.gain)) is not None:
        previous = max((r["budget"] for r in records if r["kind"] == "model_point" and r["budget"] < budget),
                       default=None)
        measuring = next((r for r in records if r["kind"] == "measuring" and r["budget"] == budget), None)
        if measuring is None:
            log(f"budget {budget}: tuning" + (f" (continuing the {previous}-trial database)" if previous else ""))
            tuned = tune_budget(args, budget, previous)
            if tuned["status"] != "ok":
                log(f"budget {budget}: tuning ended {tuned['status']}: {tuned.get('reason', '')[:200]}")
                return 1

            def note(suite_run: str, budget: int = budget, tuned: dict[str, Any] = tuned) -> None:
                entry = {"schema": SCHEMA, "run_id": run_id, "kind": "measuring", "key": f"measuring/{budget}",
                         "workload": args.workload, "case": args.case, "variant": args.variant, "budget": budget,
                         "suite_run": suite_run,
                         "tuned": {k: tuned.get(k) for k in ("status", "details", "compile_s")}}
                append_record(out, entry)
                records.append(entry)

            code, suite_run = measure_budget(args, budget, None, note)
            if suite_run is None:
                log(f"budget {budget}: the suite run did not start (exit {code})")
                return 1
            measuring = records[-1]
        else:
            code, _ = measure_budget(args, budget, measuring["suite_run"], lambda _: None)
        if code != 0:
            log(f"budget {budget}: the suite run exited {code}; resume with --resume {run_id}")
            return 1
        point = point_record(args, run_id, budget, measuring["tuned"], measuring["suite_run"])
        append_record(out, point)
        records.append(point)
        log(f"budget {budget}: {_describe(point)}")
    log(f"done: {out}")
    return 0


def _tvm(args: argparse.Namespace) -> str:
    return f"tvm/{args.variant}"


def _describe(point: dict[str, Any]) -> str:
    if point["status"] != "ok":
        return f"{point['status']}: {point['reason'][:160]}"
    rivals = ", ".join(f"{label} {b['median_s'] * 1e3:.2f} ms" for label, b in point["baselines"].items()
                       if b["status"] == "ok")
    return (f"TVM {point['median_s'] * 1e3:.2f} ms after {point['tuning_s'] or 0:.0f} s of tuning in all "
            f"(suite run {point['suite_run']}); {rivals}")


def read_points(path: Path) -> list[dict[str, Any]]:
    records, _ = read_jsonl(path, check=lambda r: None if isinstance(r, dict) and r.get("schema") == SCHEMA
                            and r.get("kind") in ("model_point", "measuring") else "not a model-curve record")
    return records


def command_status(args: argparse.Namespace) -> int:
    runs = sorted((args.results_dir / machine_slug() / "tuning").glob("*.jsonl"))
    chosen = [p for p in runs if p.stem == args.run_id] if args.run_id else [p for p in runs if read_points(p)][-1:]
    if not chosen:
        print(f"model_curve: error: no model tuning curve {args.run_id or ''} on {machine_slug()}", file=sys.stderr)
        return 2
    print(chosen[0])
    for point in read_points(chosen[0]):
        if point["kind"] == "model_point":
            print(f"  {point['workload']} {point['case']} {point['budget']:5d} trials/task  {_describe(point)}")
    return 0


def _budgets(text: str) -> tuple[int, ...]:
    try:
        values = tuple(sorted({int(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"budgets must be integers, got {text!r}") from None
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError("budgets must be positive")
    return values


def _labels(text: str) -> tuple[str, ...]:
    labels = tuple(v.strip() for v in text.split(",") if v.strip())
    if not labels or not all(label.count("/") == 1 for label in labels):
        raise argparse.ArgumentTypeError(f"baselines are backend/variant labels, got {text!r}")
    return labels


def build_parser() -> argparse.ArgumentParser:
    from suites.cli import OneLineParser

    parser = OneLineParser(prog="python -m suites tune-model", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    run = commands.add_parser("run", help="tune budget after budget, each measured beside the baselines")
    run.add_argument("--workload", default="resnet18", help="a model workload (default resnet18)")
    run.add_argument("--case", default="b1")
    run.add_argument("--variant", default="tuned", choices=VARIANTS, help="the TVM variant tuned (default tuned)")
    run.add_argument("--budgets", type=_budgets, default=DEFAULT_BUDGETS, help="trials per task, e.g. 8,16,32")
    run.add_argument("--max-trials", type=int, default=1024, help="no doubling past this many trials per task")
    run.add_argument("--gain", type=float, default=0.05, help="keep doubling while a doubling gains more than this")
    run.add_argument("--threads", type=int, default=usable_cores())
    run.add_argument("--repeats", type=int, default=3, help="processes per cell in each suite run")
    run.add_argument("--tune-timeout", type=float, default=6 * 3600.0, help="seconds for one budget's tuning")
    run.add_argument("--resume", default="", metavar="RUN_ID")
    run.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    run.add_argument("--baselines", type=_labels, default=BASELINES,
                     help=f"backend/variant labels measured beside TVM (default {','.join(BASELINES)})")
    status = commands.add_parser("status", help="print the points of a curve (default: the latest)")
    status.add_argument("run_id", nargs="?", default="")
    status.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "status":
        return command_status(args)
    if args.workload not in workload_names() or get_workload(args.workload).kind != "model":
        print(f"model_curve: error: {args.workload!r} is not a model workload", file=sys.stderr)
        return 2
    if not any(c.label == args.case for c in get_workload(args.workload).cases):
        print(f"model_curve: error: {args.workload} has no case {args.case!r}", file=sys.stderr)
        return 2
    return command_run(args)


if __name__ == "__main__":
    sys.exit(main())
