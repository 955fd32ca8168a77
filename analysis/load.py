"""Load every committed run (JSONL records + manifest) into one tidy pandas table.

Malformed or unknown-schema lines are skipped and reported, never fatal: one bad line must not hide a run.
On top of `suites.results.validate_record` (required fields, schema version, status), the analysis checks what its
maths relies on: finite positive timings, a `cell` key that matches its coordinates, numeric work counts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.tuning import load_tuning
from suites.results import read_records
from suites.stats import record_key, timing_ci, timing_processes

# Flattened from each record's `timing` object into columns of the same name.
TIMING_COLUMNS = ("n", "median_s", "mean_s", "stdev_s", "min_s", "max_s", "p10_s", "p90_s", "q1_s", "q3_s", "iqr_s")
# Flattened from `details` (absent keys become NaN): the model suite's cost fields and the graph-level study's counts.
DETAIL_COLUMNS = ("export_s", "tuning_s", "tuning_s_original", "tuning_cached", "artifact_bytes", "trials",
                  "ops_before", "ops_after")
NUMERIC_FIELDS = ("flops", "bytes", "compile_s", "first_run_s", "gflops", "gbps", "throughput_per_s",
                  "peak_rss_mb", "peak_rss_compile_mb", "peak_rss_run_mb", "params", "wall_s")
KIND_TO_SUITE = {"operator": "operators", "model": "models"}
SCHEDULE_BACKENDS = ("tvm-te", "halide", "c-openmp")
NOT_MACHINES = ("site", "cache")  # results/site is the report, results/cache holds compiler caches
CELL_COLUMNS = ("machine", "device", "suite", "backend", "variant", "workload", "case")
DISTURBED = "disturbed: the load average exceeded the cell's threads + 1 while it ran"


class MixedGenerations(ValueError):
    """The selected runs come from more than one CPU generation and no --machine chose one; `machines` maps each
    generation to its machine directories."""

    def __init__(self, message: str, machines: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.machines = machines or {}


@dataclass
class LoadedResults:
    records: pd.DataFrame  # one row per cell of every run
    manifests: dict[str, dict[str, Any]]  # run_id -> manifest
    problems: list[str] = field(default_factory=list)
    tuning: pd.DataFrame = field(default_factory=pd.DataFrame)  # MetaSchedule curves: points and baselines
    run_machine: dict[str, str] = field(default_factory=dict)  # run_id -> machine directory
    deploy: list[dict[str, Any]] = field(default_factory=list)  # tuning runs' deployment-footprint records
    generation: str = ""  # the one CPU generation (cpu family/model) these runs come from ("" if none recorded)
    model_curves: list[dict[str, Any]] = field(default_factory=list)  # whole-model TVM tuning curve points


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_record(record: dict[str, Any]) -> str | None:
    """What the analysis needs beyond the writer's own validation (None when the record is usable)."""
    for key in ("backend", "variant", "workload", "case"):
        if not isinstance(record[key], str) or not record[key]:
            return f"field {key!r} is not a non-empty string"
    expected = f"{record['backend']}/{record['variant']}/{record['workload']}/{record['case']}"
    if record["cell"] != expected:
        return f"cell {record['cell']!r} does not match its coordinates {expected!r}"
    for key in NUMERIC_FIELDS:
        if record.get(key) is not None and not _finite(record[key]):
            return f"field {key!r} is not a finite number: {record[key]!r}"
    if record["status"] == "ok":
        timing = record["timing"]
        if not _finite(timing.get("median_s")) or timing["median_s"] <= 0:
            return f"timing.median_s is not a positive number: {timing.get('median_s')!r}"
        samples = timing.get("samples_s")
        if samples is not None and not _positive_list(samples):
            return "timing.samples_s is not a non-empty list of positive numbers"
        processes = timing.get("processes")
        if processes is not None and (not isinstance(processes, list) or not processes or not all(
                isinstance(p, dict) and _positive_list(p.get("samples_s")) for p in processes)):
            return "timing.processes is not a non-empty list of objects with positive samples_s"
    details = record.get("details")
    if details is not None and not isinstance(details, dict):
        return "details is not an object"
    return None


def _positive_list(values: Any) -> bool:
    return isinstance(values, list) and bool(values) and all(_finite(v) and v > 0 for v in values)


def disturbed(record: dict[str, Any]) -> bool | None:
    """A cell is disturbed when the 1-minute load average (at its start or end, `load_avg`) exceeded its threads + 1:
    something else competed for the cores while it ran. Shown beside its timing and listed on the failures page;
    its numbers are kept (None: no load average recorded)."""
    load = record.get("load_avg")
    threads = record.get("threads")
    if not isinstance(load, list) or not load or not all(_finite(v) for v in load) or not _finite(threads):
        return None
    return max(load) > threads + 1


def number(value: Any) -> float | None:
    """A field as a float, or None when it is absent, not a number, a bool or NaN (pandas' missing value)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _count(value: Any) -> float | None:
    if isinstance(value, dict):
        return float(sum(v for v in value.values() if _finite(v)))
    if isinstance(value, list):
        return float(len(value))
    return float(value) if _finite(value) else None


def infer_suite(record: dict[str, Any]) -> str:
    """Old runs carry no `suite`: operator kind -> operators, model -> models, schedule backends -> schedules."""
    if record.get("suite"):
        return str(record["suite"])
    if record["backend"] in SCHEDULE_BACKENDS:
        return "schedules"
    return KIND_TO_SUITE.get(record.get("kind", "operator"), "operators")


def _row(record: dict[str, Any], machine: str) -> dict[str, Any]:
    timing = record.get("timing") or {}
    details = record.get("details") or {}
    verification = record.get("verification") or {}
    low, high = timing_ci(timing, record_key(record.get("run_id", ""), record["cell"]))
    row = {key: value for key, value in record.items() if key not in ("timing", "details", "dims", "verification")}
    row.update({column: timing.get(column) for column in TIMING_COLUMNS})
    row.update({column: details.get(column) for column in DETAIL_COLUMNS})
    for column in ("ops_before", "ops_after"):  # a count, or counts per operator type
        row[column] = _count(row[column])
    row.update(machine=machine, suite=infer_suite(record), ci95_low_s=low, ci95_high_s=high,
               samples_s=timing.get("samples_s"), disturbed=disturbed(record),
               processes=timing_processes(timing) if timing.get("processes") else None, details=details,
               dims=record.get("dims") or {},
               error=verification.get("error"), tolerance=verification.get("tolerance"),
               passed=verification.get("passed"), tir=details.get("tir"))
    return row


def load_results(results_dir: Path, run_ids: list[str] | None = None, allowed: set[Path] | None = None,
                 machine: str | None = None) -> LoadedResults:
    """Every run under results_dir/<machine>/ (or only `run_ids`) of one CPU generation (see select_generation);
    runs without a manifest are reported and skipped.

    `allowed`, when given, limits the runs and tuning files read to those paths (e.g. the ones git tracks).
    """
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results directory {results_dir} does not exist")
    rows: list[dict[str, Any]] = []
    manifests: dict[str, dict[str, Any]] = {}
    run_machine: dict[str, str] = {}
    problems: list[str] = []
    paths = sorted(p for p in results_dir.glob("*/*.jsonl") if p.parent.name not in NOT_MACHINES
                   and (allowed is None or p.resolve() in allowed))
    if run_ids:
        known = {p.stem for p in paths}
        unknown = [r for r in run_ids if r not in known]
        if unknown:
            raise KeyError(f"unknown run id(s) {', '.join(unknown)} under {results_dir}")
        paths = [p for p in paths if p.stem in run_ids]
    found: dict[Path, dict[str, Any]] = {}
    for records_path in paths:
        manifest_path = records_path.with_name(records_path.stem + ".manifest.json")
        try:
            found[records_path] = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            problems.append(f"{records_path}: unreadable manifest ({exc})")
    generation, chosen = select_generation(found, machine)
    for records_path, manifest in chosen.items():
        records, skipped = read_records(records_path)
        problems.extend(skipped)
        run_id = manifest.get("run_id", records_path.stem)
        manifests[run_id] = manifest
        run_machine[run_id] = records_path.parent.name
        seen: dict[str, int] = {}
        for record in records:
            why = check_record(record)
            if why:
                problems.append(f"{records_path.name}: cell {record.get('cell')!r}: {why}")
                continue
            if record["cell"] in seen:  # a cell written twice: the later line wins, and we say so
                problems.append(f"{records_path.name}: cell {record['cell']!r} recorded twice, kept the last")
                rows[seen[record["cell"]]] = _row(record, records_path.parent.name)
                continue
            seen[record["cell"]] = len(rows)
            rows.append(_row(record, records_path.parent.name))
    others = {m.get("run_id", p.stem) for p, m in found.items() if p not in chosen}  # other generations' runs
    machines = {p.parent.name for p in chosen} if found else None
    tuning, deploy, model_curves, tuning_problems = load_tuning(results_dir, NOT_MACHINES, allowed, machines)
    if len(tuning):
        tuning = tuning[~tuning["run_id"].isin(others)].reset_index(drop=True)
    deploy = [d for d in deploy if d.get("run_id") not in others]
    model_curves = [p for p in model_curves if p.get("run_id") not in others]
    frame = pd.DataFrame(rows)
    if len(frame):
        frame = frame.sort_values(["machine", "run_id", "cell"], kind="stable").reset_index(drop=True)
    return LoadedResults(frame, manifests, problems + tuning_problems, tuning, run_machine, deploy,
                         generation=generation, model_curves=model_curves)


def generation_of(manifest: dict[str, Any]) -> str:
    """A run's CPU generation: the manifest's `machine.cpu_family_model` (e.g. "25/17" for Zen 4; "" if unknown)."""
    value = str((manifest.get("machine") or {}).get("cpu_family_model") or "")
    return "" if "?" in value else value


def select_generation(runs: dict[Path, dict[str, Any]], machine: str | None = None,
                      ) -> tuple[str, dict[Path, dict[str, Any]]]:
    """The report never pools two CPU generations: the selected runs must share one `cpu_family_model` (runs whose
    manifest lacks it, old or hand-made ones, are kept and stay apart by machine directory). `machine` (--machine)
    keeps only the runs of one machine directory or of one generation ("25/17"); if the runs still span several,
    nothing is built and the error names each generation and how to choose it."""
    generations = {p: generation_of(m) for p, m in runs.items()}
    if machine:
        keep = {p: m for p, m in runs.items() if machine in (p.parent.name, generations[p])}
        if not keep:
            choices = sorted({*filter(None, generations.values()), *(p.parent.name for p in runs)})
            raise KeyError(f"--machine {machine}: no selected run is of that machine directory or CPU generation; "
                           f"choices: {', '.join(choices)}")
        runs = keep
    found = sorted(set(filter(None, (generations[p] for p in runs))))
    if len(found) > 1:
        described = "; ".join(f"{g} ({_cpu_models(runs, generations, g)} in "
                              f"{', '.join(sorted({p.parent.name for p in runs if generations[p] == g}))})"
                              for g in found)
        raise MixedGenerations(f"the selected runs span {len(found)} CPU generations, which are never pooled: "
                               f"{described}; choose one with --machine " + " or --machine ".join(found),
                               {g: sorted({p.parent.name for p in runs if generations[p] == g}) for g in found})
    return (found[0] if found else ""), runs


def _cpu_models(runs: dict[Path, dict[str, Any]], generations: dict[Path, str], generation: str) -> str:
    return ", ".join(sorted({str((m.get("machine") or {}).get("cpu_model", "?")) for p, m in runs.items()
                             if generations[p] == generation}))


def committed_files(results_dir: Path) -> set[Path]:
    """The files under results_dir that git tracks (the committed runs), resolved."""
    import subprocess
    try:
        done = subprocess.run(["git", "ls-files", "-z", "--", "."], cwd=results_dir, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise FileNotFoundError(f"--committed needs {results_dir} inside a git checkout ({exc})") from exc
    return {(results_dir / name).resolve() for name in done.stdout.decode().split("\0") if name}


def latest(records: pd.DataFrame) -> pd.DataFrame:
    """One record per cell and machine: the one from the newest run (run ids start with their UTC start time).

    Older runs of the same cell stay in the tidy table and the Parquet export; the analysis uses the newest so that
    a re-run replaces, rather than averages with, an earlier measurement.
    """
    if records.empty:
        return records
    ordered = records.sort_values("run_id", kind="stable")
    return ordered.drop_duplicates(list(CELL_COLUMNS), keep="last").reset_index(drop=True)


def calibration_for(loaded: LoadedResults, machine: str) -> tuple[dict[str, Any] | None, str | None]:
    """The newest calibration measured on `machine` (peak GFLOP/s, bandwidth), and the run it came from."""
    for run_id in sorted(loaded.manifests, reverse=True):
        if loaded.run_machine.get(run_id) != machine:
            continue
        calibration = loaded.manifests[run_id].get("calibration")
        if isinstance(calibration, dict) and _finite(calibration.get("peak_gflops")) \
                and _finite(calibration.get("bandwidth_gbps")):
            return calibration, run_id
    return None, None


def tidy_for_export(records: pd.DataFrame) -> pd.DataFrame:
    """The tidy table with nested fields as JSON text, so that Parquet gets one plain type per column."""
    out = records.copy()
    for column in ("details", "dims", "affinity"):
        if column in out:
            out[column] = [json.dumps(v, sort_keys=True, default=str) for v in out[column]]
    for column in out.columns:
        if out[column].dtype != object or column == "samples_s":
            continue
        kinds = {type(v) for v in out[column] if v is not None and not (isinstance(v, float) and math.isnan(v))}
        if len(kinds) > 1 or not kinds <= {str, bool, int, float}:  # mixed or nested: JSON text
            out[column] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else
                           (v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str))
                           for v in out[column]]
    return out


def write_parquet(records: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tidy_for_export(records).to_parquet(path, index=False)
