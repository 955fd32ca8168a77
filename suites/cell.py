"""One cell, run in its own subprocess: skip check, prepare (timed as compile_s), warm-up (the first call, timed as
first_run_s for every backend alike), verify, warm runs, verify the last one too (the lifecycle: backends/base.py).

Only `Exception`s are the cell's failures (MemoryError included, recorded as oom): KeyboardInterrupt and SystemExit
propagate, so an interrupted cell is never recorded as a compiler's error.

Invoked by the runner as `python -m suites.cell_launcher SPEC.json RESULT.json`. Writes RESULT.json with the
cell's measured fields; the runner adds what only the parent knows (timeouts, crashes, memory kills).
The phase reached is written to RESULT.json.phase first, so a timeout or crash says where it happened.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from backends import CellRequest, Prepared, Task, Unsupported, get_backend
from backends.artifacts import BOOKKEEPING
from backends.outputs import as_tuple
from backends.precision import get_precision, range_reason, round_inputs, round_model_weights
from models import get_workload
from suites.device_timing import timer_for
from suites.generation_check import verify_generation_outputs
from suites.interference import Window
from suites.results import write_json_atomic
from suites.stats import RepeatPolicy, calibrate_loops, repeat, summarize
from suites.tolerance import Verdict, verify_outputs

TRACEBACK_CHARS = 3000


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # e.g. a compiler run as a tool
    return round(max(own, children) / 1024.0, 1)


def _failure(status: str, exc: Exception) -> dict[str, Any]:
    message = f"{type(exc).__name__}: {exc}".strip()
    return {"status": status, "reason": message.splitlines()[0][:500] if message else type(exc).__name__,
            "traceback": traceback.format_exc()[-TRACEBACK_CHARS:]}


def _status_of(exc: Exception, default: str) -> str:
    if isinstance(exc, MemoryError):
        return "oom"
    # GPU memory exhausted: torch.cuda.OutOfMemoryError (a RuntimeError), or XLA's RESOURCE_EXHAUSTED.
    if type(exc).__name__ == "OutOfMemoryError" or "RESOURCE_EXHAUSTED" in str(exc):
        return "oom"
    if isinstance(exc, Unsupported):
        return "unsupported"
    return default


def warm_up(prepared: Prepared) -> tuple[tuple[np.ndarray, ...], float]:
    """The first call (timed alike for every backend: a lazy JIT compiles in it), then the details it revealed."""
    t0 = time.perf_counter()
    out = prepared.run()
    seconds = time.perf_counter() - t0
    if prepared.after_first_run is not None:
        prepared.details.update(prepared.after_first_run())
    return as_tuple(prepared.fetch(out)), seconds


def _json_error(error: float) -> float | None:
    return None if error == float("inf") else error  # JSON has no Infinity


def _verification(first: Verdict, last: Verdict | None = None) -> dict[str, Any]:
    """The record's `verification`: the worse of the first and the last warm run's errors, and both."""
    verdicts = [v for v in (first, last) if v is not None]
    fields: dict[str, Any] = {"error": _json_error(max(v.error for v in verdicts)), "tolerance": first.tolerance,
                              "passed": all(v.passed for v in verdicts)}
    if last is not None:
        fields.update(first_run_error=_json_error(first.error), last_run_error=_json_error(last.error))
    if first.outputs:  # several outputs: each one's error (the worse run's) and tolerance
        per_run = [v.outputs for v in verdicts]
        fields["outputs"] = [{"error": _json_error(max(v.error for v in each)), "tolerance": each[0].tolerance,
                              "passed": all(v.passed for v in each)} for each in zip(*per_run, strict=True)]
    return fields


def run_cell(spec: dict[str, Any], phase_file: Path) -> dict[str, Any]:
    def phase(name: str) -> None:
        phase_file.write_text(name)

    backend = get_backend(spec["backend"])
    workload = get_workload(spec["workload"])
    case = workload.case(spec["case"])
    precision = get_precision(spec.get("dtype", "float32"))
    # The matrix asked already; asking again here keeps cells started some other way (a study, a test) on one path.
    skip = backend.skip(CellRequest(workload, case, spec["variant"], spec["device"], precision.name))
    if skip:
        return {"status": skip.status, "reason": skip.reason}
    phase("inputs")
    # Inputs (and a model's weights) rounded to the precision's storage first: the float64 reference then sees
    # exactly what the backend gets.
    inputs = round_inputs(workload.make_inputs(case, spec["seed"]), precision.name)
    round_model_weights(workload, case, precision.name)
    reference = as_tuple(workload.reference(case, inputs))
    out_of_range = next(filter(None, (range_reason(r, precision.name) for r in reference)), None)
    if out_of_range:
        return {"status": "unsupported", "reason": out_of_range}
    task = Task(workload=workload, case=case, variant=spec["variant"], inputs=inputs, threads=spec["threads"],
                device=spec["device"], dtype=precision.name, workdir=Path(spec["workdir"]),
                cache_dir=Path(spec["cache_dir"]), artifact_dir=Path(spec.get("artifact_dir", spec["workdir"])))
    result: dict[str, Any] = {}

    phase("compile")
    t0 = time.perf_counter()
    try:
        prepared = backend.prepare(task)
    except Exception as exc:
        return {**_failure(_status_of(exc, "compile_error"), exc), "compile_s": time.perf_counter() - t0}
    # Work done only for the record (backends/artifacts.py: bookkeeping) is not compile time.
    result["compile_s"] = time.perf_counter() - t0 - prepared.details.get(BOOKKEEPING, 0.0)
    prepared.details.update(paths=list(backend.paths_of(task.variant, workload, case)),
                            settings=backend.settings_of(task.variant))
    result["details"] = prepared.details  # the same dict: after_first_run adds to it
    prepared.details.update(reference=workload.reference_name(case), **workload.record_details(case))
    result["peak_rss_compile_mb"] = _peak_rss_mb()  # the high-water mark so far: inputs, reference, compile

    phase("first_run")  # the warm-up
    try:
        output, result["first_run_s"] = warm_up(prepared)
    except Exception as exc:
        return {**result, **_failure(_status_of(exc, "runtime_error"), exc)}

    if len(output) != len(reference):  # a backend that cannot hand back every output is not checked on a part
        return {**result, "status": "unsupported",
                "reason": f"{backend.name} returned {len(output)} of the model's {len(reference)} outputs"}
    length = workload.reduction_length(case)
    # A generation is also checked token by token (the ids must be the reference's).
    check = verify_generation_outputs if workload.kind == "llm" else verify_outputs
    first = check(output, reference, length, precision.name)
    result["verification"] = _verification(first)
    # A reference computed by this very backend proves nothing: recorded, and not counted as a pass.
    self_referenced = workload.self_referenced(spec["backend"], spec["variant"], precision.name)
    if self_referenced:
        result["verification"].update(passed=None, self_referenced=True)
    if not first.passed:
        return {**result, "status": "wrong_result", "reason": first.detail}

    phase("warm_runs")
    policy = RepeatPolicy(**spec["repeat_policy"])
    last: list[Any] = [None]

    def run_keeping_output() -> None:
        # One Python call and a store per run (~25 ns here) keep the last output, for the check below.
        last[0] = prepared.run()

    loops = 1
    gc.disable()  # a collection inside a timed run would charge Python's allocator to the backend
    try:
        # CUDA cells: CUDA events with an L2 flush between runs (suites/device_timing.py); CPU cells: perf_counter,
        # fast calls batched into samples of `loops` calls.
        timer = timer_for(task.device, backend.capabilities.definition_for(task.variant))
        with Window(requested_threads=task.threads) as window:
            if timer:
                samples = timer.repeat(run_keeping_output, policy)
            else:
                loops = calibrate_loops(run_keeping_output, policy)
                samples = repeat(run_keeping_output, policy, loops)
        final = check(as_tuple(prepared.fetch(last[0])), reference, length, precision.name)
    except Exception as exc:
        return {**result, **_failure(_status_of(exc, "runtime_error"), exc)}
    finally:
        gc.enable()
    result["interference"] = window.result
    if prepared.after_warm_runs is not None:
        result.update(prepared.after_warm_runs())
    # Output that drifts over runs (kept state, a buffer accumulated into) is wrong even after a right first run.
    result["verification"] = _verification(first, final)
    if self_referenced:
        result["verification"].update(passed=None, self_referenced=True)
    if not final.passed:
        return {**result, "status": "wrong_result", "reason": f"last warm run: {final.detail}"}
    # The runner summarises the cell's processes together again, under the run's record key.
    timing = {**summarize(samples), "loops": loops}
    median = timing["median_s"]
    return {
        **result,
        "status": "ok",
        "reason": "",
        "timing": timing,
        "gflops": workload.flops(case) / median / 1e9,
        "gbps": workload.bytes_moved(case) * precision.bytes_scale / median / 1e9,
        **(timer.report() if timer else {}),
    }


def main(argv: list[str]) -> int:
    spec_path, result_path = Path(argv[0]), Path(argv[1])
    spec = json.loads(spec_path.read_text())
    result = run_cell(spec, result_path.with_suffix(".phase"))
    result["peak_rss_mb"] = _peak_rss_mb()
    write_json_atomic(result_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
