"""The driver's files of a cluster run: one run id, one records file and one manifest per machine directory.

Each node reports its machine directory (its slug, or MLCOMPARE_MACHINE) and, once per driver session, its own
manifest (identity, versions, calibration, threads: suites/benchmark.build_manifest run on the node). The first
node of a machine directory gives that directory's manifest its top-level fields, so a cluster run reads like a
local run of that machine; every node that ran cells there is listed under `nodes`.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from suites.benchmark import _utc
from suites.display import status_counts
from suites.results import (
    SCHEMA_VERSION,
    RunFiles,
    append_record,
    read_records,
    repair_tail,
    write_json_atomic,
)

# What each node's entry in a machine manifest keeps of that node's own manifest.
NODE_FIELDS = ("machine", "git", "calibration", "versions", "threads", "dropped_env", "gpu")


class Ledger:
    def __init__(self, results_dir: Path, run_id: str, command: str, executor: dict[str, Any],
                 resumed: bool) -> None:
        self.results_dir, self.run_id, self.command, self.executor = results_dir, run_id, command, executor
        self.session = secrets.token_hex(4)  # nodes describe themselves again in each session of the run
        self.started = _utc()
        self.manifests: dict[str, dict[str, Any]] = {}
        self.nodes: dict[str, dict[str, Any]] = {}  # node id -> what the node said about itself
        self.done: dict[str, set[str]] = {}  # target -> cell keys recorded
        self.written: dict[str, int] = {}  # machine -> records written in this session
        if resumed:
            self._load()

    def _files(self, machine: str) -> RunFiles:
        return RunFiles(self.results_dir / machine, self.run_id)

    def _load(self) -> None:
        for path in sorted(self.results_dir.glob(f"*/{self.run_id}.manifest.json")):
            machine = path.parent.name
            self.manifests[machine] = json.loads(path.read_text())
            records = self._files(machine).records
            repair_tail(records)  # a driver killed mid-line: the cell runs again
            for record in read_records(records)[0]:
                self.done.setdefault(record.get("target", ""), set()).add(record["cell"])
            for entry in self.manifests[machine].get("nodes", []):
                self.nodes[entry["node"]["id"]] = entry["node"]

    def done_cells(self, target: str) -> set[str]:
        return self.done.setdefault(target, set())

    def _manifest(self, machine: str, node_manifest: dict[str, Any] | None) -> dict[str, Any]:
        """The machine directory's manifest; a stub until a node of it describes itself."""
        current = self.manifests.get(machine)
        if current is None or (node_manifest and "machine" not in current):
            base = node_manifest or {"schema": SCHEMA_VERSION, "run_id": self.run_id, "created_utc": self.started,
                                     "command": self.command}
            current = {**base, "executor": self.executor, "nodes": current["nodes"] if current else [],
                       "sessions": current["sessions"] if current else []}
            self.manifests[machine] = current
        if not any(s.get("session") == self.session for s in current["sessions"]):
            current["sessions"].append({"started_utc": self.started, "command": self.command, "executor": "ray",
                                        "session": self.session})
        return current

    def add_node(self, node: dict[str, Any], node_manifest: dict[str, Any] | None) -> None:
        self.nodes[node["id"]] = node
        manifest = self._manifest(node["machine"], node_manifest)
        if node_manifest and not any(e["node"]["id"] == node["id"] for e in manifest["nodes"]):
            manifest["nodes"].append({"node": node, **{k: node_manifest[k] for k in NODE_FIELDS
                                                       if k in node_manifest}})
        write_json_atomic(self._files(node["machine"]).manifest, manifest)

    def append(self, machine: str, target: str, record: dict[str, Any]) -> None:
        """Append one record to its machine's file, fsynced (suites/results.py), the manifest written first."""
        files = self._files(machine)
        if not files.manifest.exists():
            write_json_atomic(files.manifest, self._manifest(machine, None))
        append_record(files.records, record)
        self.done_cells(target).add(record["cell"])
        self.written[machine] = self.written.get(machine, 0) + 1

    def finish(self) -> None:
        for machine, manifest in self.manifests.items():
            session = next((s for s in manifest["sessions"] if s.get("session") == self.session), None)
            if session is None:
                continue  # a machine directory of an earlier session that no node of this one ran cells for
            session.update(finished_utc=_utc(), cells_recorded=self.written.get(machine, 0))
            manifest["status_counts"] = status_counts(read_records(self._files(machine).records)[0])
            write_json_atomic(self._files(machine).manifest, manifest)

    def records(self) -> list[tuple[Path, list[dict[str, Any]]]]:
        """Each machine directory's records file and its records."""
        paths = [self._files(m).records for m in sorted(self.manifests)]
        return [(path, read_records(path)[0]) for path in paths if path.exists()]
