"""Result records: one JSON line per finished cell, appended and fsynced at once, next to a run manifest.

Layout: results/<machine>/<run-id>.jsonl and results/<machine>/<run-id>.manifest.json.
The record schema is versioned by SCHEMA_VERSION and documented in results/README.md; a change to a
field's meaning bumps the version, and loaders refuse versions they do not know.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
STATUSES = ("ok", "unsupported", "unavailable", "compile_error", "runtime_error", "wrong_result", "timeout", "crash",
            "oom")
RECORD_REQUIRED = ("schema", "run_id", "cell", "backend", "variant", "workload", "case", "device", "dtype", "threads",
                   "status", "reason")


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)


@dataclass(frozen=True)
class RunFiles:
    """Where one run's files live."""

    directory: Path
    run_id: str

    @property
    def records(self) -> Path:
        return self.directory / f"{self.run_id}.jsonl"

    @property
    def manifest(self) -> Path:
        return self.directory / f"{self.run_id}.manifest.json"

    @classmethod
    def find(cls, results_dir: Path, run_id: str) -> RunFiles:
        """Locate an existing run by id under any machine directory."""
        matches = sorted(results_dir.glob(f"*/{run_id}.manifest.json"))
        if not matches:
            raise FileNotFoundError(f"no run {run_id!r} under {results_dir} (no {run_id}.manifest.json)")
        return cls(matches[0].parent, run_id)


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True, default=str)  # default: backend details may hold odd types
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append one record as one line, flushed and fsynced, so a killed run keeps every finished cell."""
    line = json.dumps(record, sort_keys=True, allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def validate_record(record: Any) -> str | None:
    """Why a parsed line is not a valid record (None when it is)."""
    if not isinstance(record, dict):
        return "not a JSON object"
    missing = [k for k in RECORD_REQUIRED if k not in record]
    if missing:
        return f"missing fields: {', '.join(missing)}"
    if record["schema"] != SCHEMA_VERSION:
        return f"schema version {record['schema']!r}, this code reads {SCHEMA_VERSION}"
    if record["status"] not in STATUSES:
        return f"unknown status {record['status']!r}"
    if record["status"] == "ok" and not isinstance(record.get("timing"), dict):
        return "status ok without timing"
    return None


def read_jsonl(path: Path, check: Callable[[Any], str | None] | None = None) -> tuple[list[Any], list[str]]:
    """The one JSONL reader: the objects of a file (none if it is missing), and one message per skipped line
    (not JSON, e.g. cut short by a kill, or refused by `check`, which returns None or why)."""
    objects: list[Any] = []
    problems: list[str] = []
    if not path.exists():
        return objects, problems
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{path.name}:{number}: not JSON ({exc.msg})")
                continue
            why = check(obj) if check else None
            if why:
                problems.append(f"{path.name}:{number}: {why}")
            else:
                objects.append(obj)
    return objects, problems


def read_records(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Valid records of a run, and one message per skipped line (malformed or truncated)."""
    return read_jsonl(path, validate_record)


def repair_tail(path: Path) -> bool:
    """Cut a last line left without its newline by a killed writer; True if something was cut."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return False
    keep = data.rfind(b"\n") + 1
    with open(path, "r+b") as f:
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    return True


def finished_cells(records: Iterable[dict[str, Any]]) -> set[str]:
    return {r["cell"] for r in records}
