"""Load every committed run (JSONL records + manifest) into one tidy pandas table.

Malformed or unknown-schema lines are skipped and reported, never fatal: one bad line must not hide a run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from suites.results import read_records

# Flattened from each record's `timing` object into columns of the same name.
TIMING_COLUMNS = ("n", "median_s", "mean_s", "stdev_s", "min_s", "max_s", "p10_s", "p90_s", "iqr_s")


@dataclass
class LoadedResults:
    records: pd.DataFrame  # one row per cell of every run
    manifests: dict[str, dict[str, Any]]  # run_id -> manifest
    problems: list[str] = field(default_factory=list)


def _row(record: dict[str, Any], machine: str) -> dict[str, Any]:
    timing = record.get("timing") or {}
    low, high = timing.get("ci95_median_s", (None, None))
    row = {key: value for key, value in record.items() if key not in ("timing", "details", "traceback",
                                                                         "stderr_tail", "dims", "verification")}
    row.update({column: timing.get(column) for column in TIMING_COLUMNS})
    row.update(machine=machine, ci95_low_s=low, ci95_high_s=high,
               error=(record.get("verification") or {}).get("error"),
               tolerance=(record.get("verification") or {}).get("tolerance"))
    return row


def load_results(results_dir: Path) -> LoadedResults:
    """Every run under results_dir/<machine>/; runs without a manifest are reported and skipped."""
    rows: list[dict[str, Any]] = []
    manifests: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for records_path in sorted(results_dir.glob("*/*.jsonl")):
        manifest_path = records_path.with_name(records_path.stem + ".manifest.json")
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            problems.append(f"{records_path}: unreadable manifest ({exc})")
            continue
        records, skipped = read_records(records_path)
        problems.extend(skipped)
        manifests[manifest["run_id"]] = manifest
        rows.extend(_row(r, records_path.parent.name) for r in records)
    return LoadedResults(pd.DataFrame(rows), manifests, problems)
