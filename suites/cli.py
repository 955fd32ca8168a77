"""Command line: `python -m suites run|list|summary|export|compare|tune` (what the nox sessions call)."""

from __future__ import annotations

import argparse
import importlib
import json
import shlex
import sys
from pathlib import Path
from typing import NoReturn

from backends import backend_names, get_backend
from backends.precision import PRECISIONS
from models import get_workload, workload_names
from models.user_inputs import InputOptions
from suites.benchmark import print_summary
from suites.compare import compare, format_comparison
from suites.executors import add_executor_arguments, execute
from suites.gpu_info import gpu_slug
from suites.machine import REPO_ROOT, machine_slug, usable_cores
from suites.matrix import SUITES, Selection, SelectionError, expand, resolve
from suites.pytest_benchmark_export import to_pytest_benchmark
from suites.results import RunFiles, new_run_id, read_records, write_json_atomic
from suites.runner import CellOptions
from suites.stats import QUICK_POLICY, RepeatPolicy

# Studies of one backend, each a module beside that backend with its own `main(argv)`: `python -m suites tune ...`.
STUDIES = {"tune": ("backends.tvm.tuning_curves", "TVM MetaSchedule tuning curves and deployment footprint"),
           "tune-model": ("backends.tvm.model_curve", "TVM whole-model tuning curve beside the baselines")}


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="mlcompare", description="Comparative benchmark of ML compilers.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    bench = commands.add_parser("run", help="run a benchmark matrix (each cell in its own subprocess)")
    bench.add_argument("--suite", default="", help=f"{' | '.join(SUITES)} (default: operators; models with --model-*)")
    bench.add_argument("--backends", type=_names, default=(), help="comma-separated backend names (default: all)")
    bench.add_argument("--workloads", type=_names, default=(), help="comma-separated workload names (default: all)")
    bench.add_argument("--cases", type=_names, default=(), help="comma-separated case labels (default: the scope's)")
    bench.add_argument("--variants", type=_names, default=(), metavar="BACKEND/VARIANT,...",
                       help="only these variants of the backends they name, e.g. inductor/freezing,iree/onnx-O2 "
                            "(other backends: all their variants)")
    scope = bench.add_mutually_exclusive_group()
    scope.add_argument("--quick", action="store_const", dest="scope", const="quick", help="one small case each")
    scope.add_argument("--full", action="store_const", dest="scope", const="full", help="every case")
    bench.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    bench.add_argument("--dtype", default="float32", choices=tuple(PRECISIONS),
                       help="precision of every cell (tf32: float32 storage, TF32 tensor cores; CUDA only)")
    bench.add_argument("--threads", type=int, default=usable_cores(), help="threads for every backend (default: cores)")
    bench.add_argument("--timeout", type=float, default=0.0,
                       help="seconds per cell, compile and tuning included (default: the suite's, 900 or 5400)")
    bench.add_argument("--memory-limit-mb", type=float, default=0.0, help="per cell (default: 80%% of RAM)")
    bench.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    bench.add_argument("--machine", default="", help="results subdirectory (default: CPU model + cores)")
    bench.add_argument("--resume", metavar="RUN_ID", help="run only the cells missing from an earlier run")
    bench.add_argument("--seed", type=int, default=0, help="inputs and the shuffled order of each round")
    bench.add_argument("--repeats", type=int, default=3, metavar="R",
                       help="independent processes per cell, in interleaved rounds (default: 3)")
    own = bench.add_mutually_exclusive_group()
    own.add_argument("--model-onnx", metavar="PATH", help="run your own ONNX model")
    own.add_argument("--model-torch", metavar="PKG.MODULE:FUNCTION",
                     help="run your own torch model: FUNCTION() returns (module, example_inputs)")
    bench.add_argument("--input-shape", default="", metavar="NAME=1x3x640x640[,...]",
                       help="your model's input shapes (fixes dynamic dimensions; torch: overrides the examples')")
    bench.add_argument("--input-range", default="", metavar="NAME=LOW:HIGH[,...]",
                       help="seeded integer (token id) inputs in [LOW, HIGH) (default: [0, 100))")
    bench.add_argument("--inputs", type=Path, metavar="FILE.npz",
                       help="your model's inputs, name -> array (used verbatim; they set the shapes)")
    add_executor_arguments(bench)

    commands.add_parser("list", help="list backends, variants, workloads and cases")
    for study, (module, description) in STUDIES.items():
        commands.add_parser(study, help=f"{description} ({module}; its own --help)", add_help=False)
    summary = commands.add_parser("summary", help="print the summary table of a run")
    summary.add_argument("run_id")
    summary.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    export = commands.add_parser("export", help="export a run in pytest-benchmark's JSON format")
    export.add_argument("run_id")
    export.add_argument("--format", default="pytest-benchmark", choices=("pytest-benchmark",))
    export.add_argument("-o", "--output", type=Path, required=True)
    export.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    versus = commands.add_parser("compare", help="two runs side by side: reproducibility and significant changes")
    versus.add_argument("run_a", metavar="RUN_A")
    versus.add_argument("run_b", metavar="RUN_B")
    versus.add_argument("--baseline", default="", help="speedups over this backend (default: torch-eager, numpy)")
    versus.add_argument("--alpha", type=float, default=0.05, help="false-discovery rate of the per-cell tests")
    versus.add_argument("--band", type=float, default=0.05, help="changes within +-band are no practical difference")
    versus.add_argument("--limit", type=int, default=40, help="rows of the table of significant changes")
    versus.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    return parser


def command_compare(args: argparse.Namespace) -> int:
    runs = []
    for run_id in (args.run_a, args.run_b):
        files = RunFiles.find(args.results_dir, run_id)
        records, problems = read_records(files.records)
        for problem in problems:
            print(f"warning: skipped {problem}", file=sys.stderr)
        runs.append((f"{files.directory.name}/{run_id}", records))
    (name_a, a), (name_b, b) = runs
    print(format_comparison(compare(name_a, a, name_b, b, args.baseline, args.alpha, args.band), args.limit))
    return 0


def command_run(args: argparse.Namespace, command: str) -> int:
    inputs = InputOptions(args.input_shape, args.input_range, str(args.inputs.resolve()) if args.inputs else "")
    if args.resume:
        if inputs.given:
            raise SelectionError("--resume reuses the run's own model inputs: drop --input-shape/--input-range/"
                                 "--inputs")
        if (args.backends or args.workloads or args.cases or args.variants or args.scope or args.dtype != "float32"
                or args.repeats != 3):
            raise SelectionError("--resume reruns the run's own selection; drop --backends/--workloads/--cases"
                                 "/--variants/--quick/--full/--dtype/--repeats")
        files = RunFiles.find(args.results_dir, args.resume)
        manifest = json.loads(files.manifest.read_text())
        # Also re-checks a user's model (and its static copy, in the run's cache).
        cache = Path(manifest["options"].get("cache_dir") or args.results_dir / "cache")
        selection = resolve(Selection.from_json(manifest["selection"]), cache)
        saved = dict(manifest["options"])
        options = CellOptions(**{**saved, "repeat_policy": RepeatPolicy(**saved["repeat_policy"])})
        manifest["command"] = command
    else:
        if args.threads < 1:
            raise SelectionError(f"--threads must be at least 1, got {args.threads}")
        user_model = (f"onnx:{args.model_onnx}" if args.model_onnx
                      else f"torch:{args.model_torch}" if args.model_torch else "")
        if inputs.given and not user_model:
            raise SelectionError("--input-shape/--input-range/--inputs describe your model's inputs: give "
                                 "--model-onnx or --model-torch")
        suite = args.suite or ("models" if user_model else "operators")
        selection = resolve(Selection(suite, args.backends, args.workloads, args.scope or "default", args.device,
                                      user_model, inputs.to_json(), args.dtype, args.cases, args.variants),
                            args.results_dir / "cache")
        if args.timeout < 0:
            raise SelectionError(f"--timeout must be positive, got {args.timeout}")
        if args.repeats < 1:
            raise SelectionError(f"--repeats must be at least 1, got {args.repeats}")
        timeout = args.timeout or SUITES[selection.suite].timeout_s
        options = CellOptions(threads=args.threads, timeout_s=timeout, memory_limit_mb=args.memory_limit_mb,
                              seed=args.seed, device=args.device, dtype=args.dtype, repeats=args.repeats,
                              repeat_policy=QUICK_POLICY if selection.scope == "quick" else RepeatPolicy(),
                              cache_dir=str(args.results_dir / "cache"))
        machine = args.machine or ((args.device == "cuda" and gpu_slug()) or machine_slug())
        files = RunFiles(args.results_dir / machine, new_run_id())
        manifest = None  # each executor describes its own machines (on Ray: every node)
    planned = expand(selection)
    for path, records in execute(args, files, selection, planned, options, manifest, command):  # one per machine
        print_summary([r for r in records if r["cell"] in {p.cell.key for p in planned}])
        print(f"records: {path}\nmanifest: {path.with_suffix('.manifest.json')}")
    return 0


def command_list() -> int:
    for name in backend_names():
        backend = get_backend(name)
        reason = backend.missing_requirement
        state = f"unavailable: {reason}" if reason else "available"
        print(f"backend {name:12s} suites: {','.join(backend.capabilities.suites) or '-':26s} "
              f"variants: {', '.join(backend.variants):24s} {state}")
    for name in workload_names():
        workload = get_workload(name)
        print(f"workload {name:16s} ({workload.kind}) default: {', '.join(workload.default_cases)}; "
              f"all: {', '.join(c.label for c in workload.cases)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in STUDIES:
        study: int = importlib.import_module(STUDIES[argv[0]][0]).main(argv[1:])
        return study
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return command_run(args, shlex.join(["python", "-m", "suites", *argv]))
        if args.command == "list":
            return command_list()
        if args.command == "compare":
            return command_compare(args)
        files = RunFiles.find(args.results_dir, args.run_id)
        records, problems = read_records(files.records)
        for problem in problems:
            print(f"warning: skipped {problem}", file=sys.stderr)
        if args.command == "summary":
            print_summary(records)
            return 0
        manifest = json.loads(files.manifest.read_text())
        write_json_atomic(args.output, to_pytest_benchmark(manifest, records))
        print(f"wrote {args.output} ({sum(r['status'] == 'ok' for r in records)} benchmarks)")
        return 0
    except (SelectionError, FileNotFoundError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"mlcompare: error: {message}", file=sys.stderr)
        return 2
