"""A whole run: write the manifest, run every planned cell not yet recorded, append each record at once."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from backends import get_backend
from backends.precision import get_precision
from models import get_workload
from suites.calibration import measure_calibration
from suites.display import Progress, status_counts, summary_table
from suites.gpu_info import describe_gpu
from suites.machine import describe_machine, git_state
from suites.matrix import Cell, PlannedCell, Selection
from suites.results import (
    SCHEMA_VERSION,
    RunFiles,
    append_record,
    finished_cells,
    read_records,
    repair_tail,
    write_json_atomic,
)
from suites.runner import CellOptions, cell_environment, run_cell_isolated


def _utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def build_manifest(run_id: str, selection: Selection, options: CellOptions, command: str) -> dict[str, Any]:
    backends = {name: get_backend(name) for name in selection.backends}
    manifest: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "created_utc": _utc(),
        "command": command,
        "git": git_state(),
        "machine": describe_machine(),
        "selection": selection.to_json(),
        "options": options.to_json(),
        "dtype": options.dtype,
        "threads": {
            name: {"threads": options.threads, "env": cell_environment(name, options.threads, options.device),
                   "knob": b.thread_knob}
            for name, b in backends.items()
        },
        "versions": {name: b.versions() for name, b in backends.items()},
        "variants": {name: list(b.variants) for name, b in backends.items()},
        "calibration": _calibration(options),
        "sessions": [],
    }
    if options.device == "cuda":
        # The GPU, its driver and clocks, and its measured roofline (suites/gpu_info.py, gpu_calibration.py).
        manifest["gpu"] = describe_gpu(calibrate=True)
    return manifest


def _calibration(options: CellOptions) -> dict[str, Any]:
    """This machine's measured FP32 peak and memory bandwidth (the roofline of every cell of the run)."""
    if options.device != "cpu":
        return {"error": f"no calibration for device {options.device!r} yet"}
    try:
        return measure_calibration(options.threads)
    except (OSError, RuntimeError, ValueError) as exc:  # no C compiler, say: the run goes on without a roofline
        return {"error": f"{type(exc).__name__}: {exc}"}


def make_record(run_id: str, cell: Cell, options: CellOptions, measured: dict[str, Any],
                suite: str = "operators") -> dict[str, Any]:
    workload = get_workload(cell.workload)
    case = workload.case(cell.case)
    extra: dict[str, Any] = {}
    timing = measured.get("timing")
    if timing and "batch" in case.as_dict():
        extra["throughput_per_s"] = case["batch"] / timing["median_s"]  # samples per second
    params = workload.parameter_count(case)
    if params is not None:
        extra["params"] = params
    return {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "suite": suite,
        "cell": cell.key,
        "backend": cell.backend,
        "variant": cell.variant,
        "workload": cell.workload,
        "case": cell.case,
        "dims": case.as_dict(),
        "kind": workload.kind,
        "device": options.device,
        "dtype": options.dtype,
        "threads": options.threads,
        "flops": workload.flops(case),
        "bytes": workload.bytes_moved(case) * get_precision(options.dtype).bytes_scale,
        "finished_utc": _utc(),
        **extra,
        **measured,
    }


def run(files: RunFiles, planned: list[PlannedCell], options: CellOptions, manifest: dict[str, Any],
        stream: TextIO = sys.stderr) -> list[dict[str, Any]]:
    """Run the planned cells whose key is not yet in files.records; returns all records of the run."""
    if repair_tail(files.records):
        stream.write(f"note: cut an unfinished last line from {files.records}\n")
    done = finished_cells(read_records(files.records)[0])
    todo = [p for p in planned if p.cell.key not in done]
    manifest["sessions"].append({"started_utc": _utc(), "command": manifest["command"], "cells_todo": len(todo),
                                 "cells_already_done": len(planned) - len(todo)})
    write_json_atomic(files.manifest, manifest)
    stream.write(f"run {files.run_id}: {len(todo)} cells to run ({len(planned) - len(todo)} already recorded), "
                 f"{options.threads} threads, results in {files.records}\n")
    progress = Progress(len(todo), stream)
    for item in todo:
        progress.start(item.cell.key)
        if item.skip_status:
            measured: dict[str, Any] = {"status": item.skip_status, "reason": item.reason}
        else:
            measured = run_cell_isolated(item.cell, options,
                                         on_wait=lambda s, phase, key=item.cell.key: progress.waiting(key, s, phase))
        record = make_record(files.run_id, item.cell, options, measured, manifest["selection"]["suite"])
        append_record(files.records, record)
        progress.finish(item.cell.key, record)
    records, problems = read_records(files.records)
    for problem in problems:
        stream.write(f"warning: skipped {problem}\n")
    manifest["sessions"][-1]["finished_utc"] = _utc()
    manifest["status_counts"] = status_counts(records)
    write_json_atomic(files.manifest, manifest)
    return records


def print_summary(records: list[dict[str, Any]], stream: TextIO = sys.stdout) -> None:
    stream.write(summary_table(records) + "\n")
    counts = ", ".join(f"{n} {status}" for status, n in sorted(status_counts(records).items()))
    stream.write(f"{len(records)} cells: {counts}\n")
