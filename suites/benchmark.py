"""A whole run: write the manifest, run every planned cell not yet recorded, append each record at once."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
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
from suites.rounds import interleave, merge_processes
from suites.runner import CellOptions, cell_environment, inherited_environment, run_cell_isolated
from suites.stats import record_key


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
        # Shell settings the cells' environment drops (suites/runner.py: DROPPED_ENV), e.g. OPENBLAS_CORETYPE.
        "dropped_env": inherited_environment()[1],
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
    """Run the planned cells whose key is not yet in files.records; returns all records of the run.

    Cells that cannot run are recorded first. The others run case by case in interleaved rounds
    (suites/rounds.py): `options.repeats` processes each, a cell's record appended once its last process ends.
    """
    if repair_tail(files.records):
        stream.write(f"note: cut an unfinished last line from {files.records}\n")
    done = finished_cells(read_records(files.records)[0])
    todo = [p for p in planned if p.cell.key not in done]
    manifest["sessions"].append({"started_utc": _utc(), "command": manifest["command"], "cells_todo": len(todo),
                                 "cells_already_done": len(planned) - len(todo)})
    write_json_atomic(files.manifest, manifest)
    stream.write(f"run {files.run_id}: {len(todo)} cells to run ({len(planned) - len(todo)} already recorded), "
                 f"{options.threads} threads, {options.repeats} processes per cell in interleaved rounds, "
                 f"results in {files.records}\n")
    progress = Progress(len(todo), stream)
    suite = manifest["selection"]["suite"]

    def record(item: PlannedCell, measured: dict[str, Any]) -> None:
        entry = make_record(files.run_id, item.cell, options, measured, suite)
        append_record(files.records, entry)
        progress.finish(item.cell.key, entry)

    for item in (p for p in todo if p.skip_status):
        record(item, {"status": item.skip_status, "reason": item.reason})
    runnable = [p for p in todo if not p.skip_status]
    for case in cases_of(runnable):
        for item, measured in measure_case(case, options, progress, files.run_id):
            record(item, measured)
    records, problems = read_records(files.records)
    for problem in problems:
        stream.write(f"warning: skipped {problem}\n")
    manifest["sessions"][-1]["finished_utc"] = _utc()
    manifest["status_counts"] = status_counts(records)
    write_json_atomic(files.manifest, manifest)
    return records


def cases_of(cells: list[PlannedCell]) -> list[list[PlannedCell]]:
    by_case: dict[tuple[str, str], list[PlannedCell]] = {}
    for item in cells:
        by_case.setdefault((item.cell.workload, item.cell.case), []).append(item)
    return list(by_case.values())


def _disturbed(measured: dict[str, Any]) -> bool:
    return measured.get("status") == "ok" and bool(measured.get("interference", {}).get("disturbed"))


def measure_case(cells: list[PlannedCell], options: CellOptions, progress: Progress,
                 run_id: str) -> Iterator[tuple[PlannedCell, dict[str, Any]]]:
    """Every process of one case's cells in interleaved rounds. A cell is yielded (to be recorded) as soon as its
    last process ends (in the last round, or at its first failure), after one more process for each of its
    disturbed ones. A generator, so that the Ray executor can stream each cell back from its node.

    Each cell has an artifact folder for the case's duration: its first process compiles into it, the later ones
    load from it (backends/artifacts.py).
    """
    case_key = f"{cells[0].cell.workload}/{cells[0].cell.case}"
    processes: list[list[dict[str, Any]]] = [[] for _ in cells]
    with tempfile.TemporaryDirectory(prefix="mlcompare-artifacts-") as root:

        def measure(index: int, label: str, **tags: Any) -> dict[str, Any]:
            key = f"{cells[index].cell.key} {label}"
            progress.start(key)
            measured = run_cell_isolated(cells[index].cell, options, artifact_dir=Path(root) / str(index),
                                         on_wait=lambda s, phase: progress.waiting(key, s, phase))
            return {**measured, **tags}

        for slot in interleave([case_key] * len(cells), options.repeats, options.seed):
            runs = processes[slot.index]
            if runs and runs[-1].get("status") != "ok":
                continue  # a failed cell is not run again (and was recorded)
            runs.append(measure(slot.index, f"(process {slot.round + 1}/{options.repeats})", round=slot.round,
                                position=slot.position))
            if runs[-1].get("status") == "ok" and len(runs) < options.repeats:
                continue
            # A process that shared the machine with other work is measured once more, right after the cell's
            # last round (close in time to the others); the repeat replaces it unless it was disturbed too.
            for number, measured in enumerate(list(runs)):
                if _disturbed(measured):
                    again = measure(slot.index, "(repeat of a disturbed process)", round=measured["round"],
                                    position=measured["position"], repeat_of_disturbed=True)
                    quiet = again.get("status") == "ok" and not _disturbed(again)
                    runs[number] = again if quiet else {**measured, "repeat_disturbed_too": True}
            yield cells[slot.index], merge_processes(runs, record_key(run_id, cells[slot.index].cell.key))


def print_summary(records: list[dict[str, Any]], stream: TextIO = sys.stdout) -> None:
    stream.write(summary_table(records) + "\n")
    counts = ", ".join(f"{n} {status}" for status, n in sorted(status_counts(records).items()))
    stream.write(f"{len(records)} cells: {counts}\n")
