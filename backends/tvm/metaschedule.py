"""MetaSchedule tuning-curve points: the best kernel MetaSchedule had found after N trials, timed in a fresh process.

One tuning run per (workload, case, cost model) goes to the largest budget (`tune_series`, driven by
backends/tvm/tuning_curves.py). MetaSchedule commits every measured candidate to its JSON database in trial order
(failed ones with a run time of 1e10 s), and a measure callback here logs the wall time at the end of every
search round, so the state after N trials is known exactly: the best record among the first N lines.
This backend (variant "<cost model>-<N>", e.g. "xgb-128"; N = 0 is the unscheduled TE loop nest) applies that
record and compiles it in the cell's own subprocess: kernels timed in the tuning process came out 3x slow.

Tuning directories live under the cell's cache dir (results/cache/tvm-ms/), one per series, named by
everything that changes the result plus the trial count; a directory without `mlcompare_tuning.json` was
interrupted and is retuned.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from backends.base import Backend, Capabilities, CellRequest, Prepared, Skip, Task, Unsupported, unsupported
from backends.schedule_text import truncate
from backends.tvm import te_schedules as ladder
from backends.tvm.common import host_target, primfunc_runner
from models.workload import Case, Workload

COST_MODELS = ("xgb", "random")
BUDGETS = (0, 32, 64, 128, 256, 512)
META_FILE = "mlcompare_tuning.json"
PROGRESS_FILE = "progress.jsonl"
RECORDS_FILE = "database_tuning_record.json"
WORKLOAD_FILE = "database_workload.json"
FAILED_S = 1e9  # MetaSchedule stores failed candidates with a run time of 1e10 s
INTRIN_ENV = "MLCOMPARE_TVM_ALL_INTRINSICS"


def parse_variant(variant: str) -> tuple[str, int]:
    """"xgb-128" -> ("xgb", 128); ValueError if it is not "<cost model>-<trials>"."""
    cost_model, _, trials = variant.rpartition("-")
    if cost_model not in COST_MODELS or not trials.isdigit():
        raise ValueError(f"tvm-ms variant must be <{'|'.join(COST_MODELS)}>-<trials>, got {variant!r}")
    return cost_model, int(trials)


def workload_module(workload: str, case: Case) -> Any:
    """The unscheduled TE PrimFunc (as an IRModule) that MetaSchedule tunes: the ladder's naive step."""
    if workload == "matmul":
        return ladder.matmul(case["m"], case["n"], case["k"], "naive").mod
    if workload == "conv2d":
        return ladder.conv2d(case.as_dict(), "naive").mod
    raise Unsupported(f"no MetaSchedule tuning-curve definition for {workload!r}")


def series_prefix(workload: str, case: Case, cost_model: str, threads: int) -> str:
    """Directory name (without the trial count) of a tuning series; the module hash retunes a changed definition."""
    import tvm
    import tvm_ffi

    _, spec = host_target(threads)
    digest = f"{tvm_ffi.structural_hash(workload_module(workload, case)):016x}"[:8]
    raw = f"{workload}-{case.label}-{spec['mcpu']}-c{threads}-{cost_model}-tvm{tvm.__version__}-{digest}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", raw)


def find_series(cache_dir: Path, prefix: str) -> Path | None:
    """The finished tuning of this series with the most trials (None if none finished)."""
    found = []
    for path in cache_dir.glob(f"{prefix}-t*"):
        if (path / META_FILE).is_file():
            found.append((json.loads((path / META_FILE).read_text())["max_trials"], path))
    return max(found)[1] if found else None


def _json_lines(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def best_record(series: Path, budget: int) -> dict[str, Any]:
    """The fastest valid candidate among the first `budget` trials, and the tuning wall time they took."""
    # MetaSchedule's own database lines, read here without suites/ (an adapter never imports the layer above).
    lines = _json_lines(series / RECORDS_FILE)[:budget]
    best: dict[str, Any] | None = None
    for index, (_, record) in enumerate(lines):
        secs = [float(s) for s in record[1]] if record[1] else [FAILED_S * 10]
        mean = sum(secs) / len(secs)
        if mean < FAILED_S and (best is None or mean < best["tuner_best_s"]):
            best = {"best_trial": index + 1, "tuner_best_s": mean, "record": record}
    if best is None:
        raise RuntimeError(f"no valid candidate among the first {budget} trials of {series.name}")
    progress = _json_lines(series / PROGRESS_FILE)
    used = min(budget, len(lines))
    at = next((p for p in progress if p["trials"] >= used), progress[-1])
    return {**best, "trials_used": used, "tuning_s": at["elapsed_s"], "trials_available": len(lines)}


class TvmMsBackend(Backend):
    name = "tvm-ms"
    description = "Apache TVM MetaSchedule: the best kernel found within a trial budget (tuning-curve points)"
    variants = tuple(f"{cm}-{b}" for cm in COST_MODELS for b in BUDGETS)
    capabilities = Capabilities(suites=())  # driven by backends/tvm/tuning_curves.py, not by a matrix
    modules = ("tvm",)
    packages = ("apache-tvm", "apache-tvm-ffi", "xgboost")
    thread_knob = "TVM_NUM_THREADS=n + target num-cores=n (tuning measurements and the timed kernel)"

    def thread_env(self, threads: int) -> dict[str, str]:
        return {"TVM_NUM_THREADS": str(threads)}

    def accepts_variant(self, variant: str) -> bool:
        try:
            parse_variant(variant)  # any budget, e.g. "xgb-8" for a short study
        except ValueError:
            return False
        return True

    def skip(self, request: CellRequest) -> Skip | None:
        return super().skip(request) or unsupported(
            "tuning curves are defined for matmul and conv2d" if request.workload.name not in ("matmul", "conv2d")
            else None)

    def prepare(self, task: Task) -> Prepared:
        ex, details = compile_point(task)
        run, fetch = primfunc_runner(ex, task.inputs, task.workload.output_shape(task.case))
        return Prepared(run=run, fetch=fetch, details=details)


def compile_point(task: Task) -> tuple[Any, dict[str, Any]]:
    """Compile the kernel of a tuning-curve point (variant "<cost model>-<budget>"); returns it and its details."""
    import tvm

    cost_model, budget = parse_variant(task.variant)
    target, spec = host_target(task.threads)
    mod = workload_module(task.workload.name, task.case)
    details: dict[str, Any] = {"cost_model": cost_model, "budget": budget, "target": spec, "tvm": tvm.__version__}
    if budget == 0:
        scheduled = mod  # no trial yet: the loop nest TE wrote
        details.update(trials_used=0, tuning_s=0.0)
    else:
        series = find_series(task.cache_dir, series_prefix(task.workload.name, task.case, cost_model, task.threads))
        if series is None:
            raise RuntimeError(f"no finished tuning under {task.cache_dir} for {task.workload.name} "
                               f"{task.case.label} {cost_model}: run `python -m suites tune run` first")
        pick = best_record(series, budget)
        scheduled = apply_record(mod, series, pick["record"], target)
        details.update({k: v for k, v in pick.items() if k != "record"}, series=series.name)
    ex = tvm.compile(scheduled, target)
    details["tir"] = truncate(scheduled.script())
    return ex, details


def apply_record(mod: Any, series: Path, record: Any, target: Any) -> Any:
    """The module scheduled by one database record, through MetaSchedule's own query path."""
    from tvm.s_tir import meta_schedule as ms

    workload_json = json.loads((series / WORKLOAD_FILE).read_text().splitlines()[0])
    stored = ms.database.Workload.from_json(workload_json)
    memory = ms.database.MemoryDatabase()
    workload = memory.commit_workload(stored.mod)
    memory.commit_tuning_record(ms.database.TuningRecord.from_json(record, workload))
    sch = ms.tir_integration.compile_tir(memory, mod, target)
    if sch is None:
        raise RuntimeError(f"the record of {series.name} does not match the workload (definition changed?)")
    return sch.mod


def register_cpu_intrinsics_only() -> None:
    """Load only the x86 tensor intrinsics MetaSchedule's CPU rules can use, unless MLCOMPARE_TVM_ALL_INTRINSICS=1.

    `import tvm.s_tir.tensor_intrin` parses every CUDA/ROCm/Hexagon intrinsic (35-95 s on 2 busy cores) before
    the first trial; an llvm target never uses them. The stub package keeps the submodules importable.
    """
    import importlib
    import importlib.util
    import types

    name = "tvm.s_tir.tensor_intrin"
    if os.environ.get(INTRIN_ENV) == "1" or name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        return
    stub = types.ModuleType(name)
    stub.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = stub
    importlib.import_module(f"{name}.x86")


def tune_series(workload: Workload, case: Case, cost_model: str, max_trials: int, threads: int, cache_dir: Path,
                trials_per_iter: int = 16, label: str = "") -> Path:
    """Tune (or find) the series to at least `max_trials` trials; returns its directory. Progress on stderr."""
    import logging

    from tvm.ir.utils import derived_object
    from tvm.s_tir import meta_schedule as ms

    from backends.tvm.tuning import build_candidate

    prefix = series_prefix(workload.name, case, cost_model, threads)
    done = find_series(cache_dir, prefix)
    if done is not None and json.loads((done / META_FILE).read_text())["max_trials"] >= max_trials:
        return done
    work_dir = cache_dir / f"{prefix}-t{max_trials}"
    shutil.rmtree(work_dir, ignore_errors=True)  # a killed run's leftovers
    work_dir.mkdir(parents=True)
    logging.getLogger("tvm.s_tir.meta_schedule").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    register_cpu_intrinsics_only()
    import tvm.s_tir.tensor_intrin  # noqa: F401  (timed apart: TuneContext imports it before the first trial)

    setup_s = time.perf_counter() - t0
    target, spec = host_target(threads)
    progress_path = work_dir / PROGRESS_FILE
    start = time.perf_counter()
    state = {"trials": 0, "best_s": float("inf")}
    flops = workload.flops(case)

    @derived_object
    class Progress(ms.measure_callback.PyMeasureCallback):
        """After each search round: trials so far, wall time, best run time; a JSON line and a stderr line."""

        def apply(self, task_scheduler: Any, task_id: int, candidates: Any, builds: Any, runs: Any) -> None:
            for result in runs:
                if result.run_secs is not None and result.error_msg is None:
                    mean = sum(float(s) for s in result.run_secs) / max(len(result.run_secs), 1)
                    state["best_s"] = min(state["best_s"], mean)
            state["trials"] += len(runs)
            elapsed = time.perf_counter() - start
            line = {"trials": state["trials"], "elapsed_s": elapsed,
                    "best_s": state["best_s"] if state["best_s"] < FAILED_S else None}
            with open(progress_path, "a") as out:
                out.write(json.dumps(line) + "\n")
            gflops = flops / state["best_s"] / 1e9 if state["best_s"] < FAILED_S else 0.0
            print(f"[tune {label}] {state['trials']}/{max_trials} trials, {elapsed:.0f} s, best so far "
                  f"{gflops:.1f} GFLOP/s (tuner's own timing)", file=sys.stderr, flush=True)

    ms.tune_tir(
        mod=workload_module(workload.name, case), target=target, work_dir=str(work_dir),
        max_trials_global=max_trials, num_trials_per_iter=min(trials_per_iter, max_trials),
        builder=ms.builder.LocalBuilder(max_workers=threads, timeout_sec=120, f_build=build_candidate()),
        cost_model=cost_model, measure_callbacks=[*ms.measure_callback.MeasureCallback.create("default"), Progress()],
        num_tuning_cores=threads, seed=0,
    )
    meta = {"max_trials": max_trials, "trials_done": state["trials"], "tuning_s": time.perf_counter() - start,
            "setup_s": setup_s, "cost_model": cost_model, "seed": 0, "trials_per_iter": trials_per_iter,
            "tensor_intrinsics": "all" if os.environ.get(INTRIN_ENV) == "1" else "x86 only",
            "target": spec, "workload": workload.name, "case": case.label}
    tmp = work_dir / (META_FILE + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, work_dir / META_FILE)  # the series counts as tuned only from here on
    return work_dir
