"""Run a matrix on a Ray cluster (docs/ray.md): each case is one Ray task on one node, streaming its cells back.

The unit sent to a node is a case (one workload case, all its selected cells), not a cell: its cells then run
in the same interleaved rounds as on one machine (suites/rounds.py), every process through the same isolated
subprocess (suites/runner.py), so no cell's record mixes two machines and the drift guard between backends
holds. Parallelism is across cases and across targets.

Nodes: every node that runs cells offers the custom resource `mlcompare_node: 1`, and each task asks for all of
it, so a node runs one case at a time (a second benchmark beside it would distort both). A target `--on
cpu=znver5` selects nodes by the label `mlcompare/cpu=znver5` (Ray's `label_selector`); each target runs the
whole matrix. A node names its results directory by its own machine slug, or by MLCOMPARE_MACHINE in its
environment. Ray is imported here only, and only when this executor is chosen.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from suites import cache_sync
from suites.benchmark import build_manifest, cases_of, make_record, measure_case
from suites.display import Progress
from suites.gpu_info import gpu_slug
from suites.machine import machine_slug
from suites.matrix import PlannedCell, Selection, SelectionError
from suites.ray_ledger import Ledger
from suites.runner import CellOptions

NODE_RESOURCE = "mlcompare_node"
LABEL_PREFIX = "mlcompare/"
MACHINE_ENV = "MLCOMPARE_MACHINE"
NODE_LOST = "node lost"
WAIT_S = 30.0  # how often the driver looks for jobs that no live node can take
TARGET_RE = re.compile(r"^([a-z0-9][a-z0-9_.-]*)=([A-Za-z0-9][A-Za-z0-9_.-]*)$")


@dataclass(frozen=True)
class Target:
    """Where a copy of the matrix runs: nodes labelled mlcompare/<key>=<value>; the empty target is any node."""

    key: str = ""
    value: str = ""

    @classmethod
    def parse(cls, text: str) -> Target:
        match = TARGET_RE.match(text)
        if not match:
            raise SelectionError(f"--on wants KEY=VALUE such as cpu=znver5 or gpu=h100, got {text!r}")
        return cls(*match.groups())

    @property
    def name(self) -> str:
        return f"{self.key}={self.value}" if self.key else ""

    def selector(self) -> dict[str, str]:
        return {LABEL_PREFIX + self.key: self.value} if self.key else {}

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.selector().items())


@dataclass
class Job:
    """One case sent to the cluster for one target: its cells, which try this is, the node it landed on."""

    target: Target
    cells: list[PlannedCell]
    attempt: int = 1
    node: dict[str, Any] | None = None


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise SelectionError("--executor ray needs Ray: pip install -r requirements/ray.txt") from None
    return ray


# ---- on the node -------------------------------------------------------------------------------------------


def node_identity(device: str) -> dict[str, Any]:
    import ray

    context = ray.get_runtime_context()
    labels = {k: v for k, v in context.get_node_labels().items() if k.startswith(LABEL_PREFIX)}
    machine = os.environ.get(MACHINE_ENV) or (device == "cuda" and gpu_slug()) or machine_slug()
    return {"id": context.get_node_id(), "hostname": socket.gethostname(), "machine": machine, "labels": labels}


def run_case(cells: list[PlannedCell], options: CellOptions, selection: Selection, run_id: str, session: str,
             command: str, env: dict[str, str], cache: bytes) -> Iterator[dict[str, Any]]:
    """The Ray task: first the node (and its manifest, once per node and driver session), then one item per
    cell as it finishes, then the cache files the case wrote."""
    os.environ.update(env)  # the driver's MLCOMPARE_* settings, e.g. extra backends: the plan was made with them
    node = node_identity(options.device)
    # Per node (a Ray node id is new at each `ray start`): its cache copy serves every run while the node lives.
    workdir = Path(tempfile.gettempdir()) / "mlcompare-ray" / node["id"][:16]
    workdir.mkdir(parents=True, exist_ok=True)
    described = workdir / f"described-{session}"
    manifest = None
    if not described.exists():  # one calibration per node: the node runs nothing else meanwhile
        manifest = build_manifest(run_id, selection, options, command)
        described.touch()
    yield {"node": node, "manifest": manifest}
    cache_dir = workdir / "cache"
    cache_sync.unpack_once(cache, cache_dir)
    before = cache_sync.snapshot(cache_dir)
    for item in cells:
        if item.skip_status:
            yield {"cell": item.cell.key, "measured": {"status": item.skip_status, "reason": item.reason}}
    runnable = [item for item in cells if not item.skip_status]
    if runnable:
        progress = Progress(len(runnable), sys.stderr)  # a long cell's heartbeat, forwarded to the driver's log
        local = replace(options, cache_dir=str(cache_dir))
        for item, measured in measure_case(runnable, local, progress, run_id):
            yield {"cell": item.cell.key, "measured": measured}
    yield {"cache": cache_sync.pack_changed(cache_dir, before)}


# ---- on the driver -----------------------------------------------------------------------------------------


def forwarded_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("MLCOMPARE_") and k != MACHINE_ENV}


def cluster_members(ray: Any) -> list[dict[str, Any]]:
    """Every live node of the cluster for the manifest: the head (which may only drive) and the workers."""
    return [{"node_id": n["NodeID"], "hostname": n.get("NodeManagerHostname"), "address": n.get("NodeManagerAddress"),
             "head": "node:__internal_head__" in n.get("Resources", {}),
             "runs_cells": bool(n.get("Resources", {}).get(NODE_RESOURCE)),
             "labels": {k: v for k, v in n.get("Labels", {}).items() if k.startswith(LABEL_PREFIX)}}
            for n in ray.nodes() if n.get("Alive")]


def cell_nodes(ray: Any) -> list[dict[str, Any]]:
    """The live nodes that run cells, each with its node id and labels."""
    return [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get(NODE_RESOURCE)]


class Driver:
    """Submits every job, writes what streams back, resubmits a lost node's unfinished cells once."""

    def __init__(self, ray: Any, ledger: Ledger, options: CellOptions, selection: Selection, command: str,
                 stream: Any) -> None:
        self.ray, self.ledger, self.options, self.selection, self.command = ray, ledger, options, selection, command
        self.stream = stream
        self.task = ray.remote(run_case)
        self.env = forwarded_env()
        self.caches: dict[tuple[str, ...], Any] = {}  # backends -> the object holding their packed cache
        self.pending: dict[Any, Job] = {}
        self.progress: Progress | None = None

    def submit(self, job: Job) -> None:
        backends = tuple(sorted({c.cell.backend for c in job.cells}))
        if backends not in self.caches:  # packed and stored once, shared by every task of these backends
            self.caches[backends] = self.ray.put(cache_sync.pack(Path(self.options.cache_dir), list(backends)))
        task = self.task.options(num_cpus=0, resources={NODE_RESOURCE: 1}, label_selector=job.target.selector(),
                                 max_retries=0)  # retried here, with only the cells that are still missing
        generator = task.remote(job.cells, self.options, self.selection, self.ledger.run_id, self.ledger.session,
                                self.command, self.env, self.caches[backends])
        self.pending[generator] = job

    def run(self, jobs: list[Job]) -> None:
        self.progress = Progress(sum(len(j.cells) for j in jobs), self.stream)
        for job in jobs:
            self.submit(job)
        while self.pending:
            ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=WAIT_S)
            if not ready:
                self.drop_stranded()
                continue
            generator = ready[0]
            job = self.pending[generator]
            try:
                item = self.ray.get(next(generator))
            except StopIteration:
                del self.pending[generator]
            except self.ray.exceptions.RayError as exc:
                del self.pending[generator]
                self.lost(job, exc)
            else:
                self.receive(job, item)

    def drop_stranded(self) -> None:
        """Jobs waiting for a target that no live node offers any more would wait for ever: record them lost."""
        nodes = cell_nodes(self.ray)
        for generator, job in list(self.pending.items()):
            if job.node is None and not any(job.target.matches(n.get("Labels", {})) for n in nodes):
                del self.pending[generator]
                self.ray.cancel(generator)
                for item in job.cells:
                    self.record(job, item.cell.key, {"status": "crash", "reason": f"{NODE_LOST}: no live node "
                                                     f"offers {LABEL_PREFIX}{job.target.name} any more"})

    def receive(self, job: Job, item: dict[str, Any]) -> None:
        if "node" in item:
            job.node = item["node"]
            self.ledger.add_node(item["node"], item["manifest"])
        elif "cache" in item:
            cache_sync.unpack(item["cache"], Path(self.options.cache_dir))
        else:
            self.record(job, item["cell"], item["measured"])

    def record(self, job: Job, key: str, measured: dict[str, Any]) -> None:
        node = job.node or self.fallback_node(job.target)
        (item,) = [c for c in job.cells if c.cell.key == key]
        record = {**make_record(self.ledger.run_id, item.cell, self.options, measured, self.selection.suite),
                  "target": job.target.name, "attempt": job.attempt,
                  "node": {k: node[k] for k in ("id", "hostname", "labels")}}
        self.ledger.append(node["machine"], job.target.name, record)
        assert self.progress is not None
        self.progress.finish(f"{key} @ {node['machine']}", record)

    def fallback_node(self, target: Target) -> dict[str, Any]:
        """For cells whose node died before saying who it was: a known node of the target, else a placeholder."""
        known = [n for n in self.ledger.nodes.values() if target.matches(n["labels"])]
        return known[0] if known else {"id": "", "hostname": "", "machine": "ray-unknown-node", "labels": {}}

    def lost(self, job: Job, exc: Exception) -> None:
        done = self.ledger.done_cells(job.target.name)
        missing = [c for c in job.cells if c.cell.key not in done]
        if not missing:
            return
        where = f"node {job.node['id'][:12]} ({job.node['machine']})" if job.node else "its node"
        if isinstance(exc, self.ray.exceptions.RayTaskError):  # our code failed there: a bug, not a lost node
            reason, retry = f"runner error on {where}: {str(exc).strip().splitlines()[-1][:300]}", False
        else:  # the node (or its worker) died: a crash, an OOM kill of the raylet, a preempted machine
            lost_id = job.node["id"] if job.node else ""
            alive = [n for n in cell_nodes(self.ray)
                     if job.target.matches(n.get("Labels", {})) and n["NodeID"] != lost_id]
            reason, retry = f"{NODE_LOST}: {where}, {type(exc).__name__}", bool(alive) and job.attempt == 1
        self.stream.write(f"{reason}; {len(missing)} cell(s) {'resubmitted' if retry else 'recorded as crash'}\n")
        if retry:
            self.submit(Job(job.target, missing, job.attempt + 1))
            return
        for item in missing:
            self.record(job, item.cell.key, {"status": "crash", "reason": f"{reason} (after {job.attempt} "
                                                                           f"attempt{'s' * (job.attempt > 1)})"})


def run_on_ray(results_dir: Path, run_id: str, planned: list[PlannedCell], options: CellOptions,
               selection: Selection, command: str, address: str, targets: list[Target], resumed: bool,
               stream: Any = sys.stderr) -> list[tuple[Path, list[dict[str, Any]]]]:
    """Run the planned cells missing from the run on every target; returns each machine's records file and
    records."""
    ray = import_ray()
    address = address or os.environ.get("RAY_ADDRESS") or "auto"  # never a fresh one-node cluster: it has no nodes
    ray.init(address=address, logging_level="WARNING")
    try:
        nodes = cell_nodes(ray)
        for target in targets:
            if not any(target.matches(n.get("Labels", {})) for n in nodes):
                offered = sorted({f"{k}={v}" for n in nodes for k, v in n.get("Labels", {}).items()
                                  if k.startswith(LABEL_PREFIX)})
                raise SelectionError(f"no live node with {NODE_RESOURCE} offers label {LABEL_PREFIX}{target.name} "
                                     f"({len(nodes)} node(s); labels: {', '.join(offered) or 'none'})")
        executor = {"name": "ray", "ray": ray.__version__, "address": address,
                    "targets": [t.name for t in targets], "cluster": cluster_members(ray)}
        ledger = Ledger(results_dir, run_id, command, executor, resumed)
        jobs = []
        for target in targets:
            done = ledger.done_cells(target.name)
            jobs += [Job(target, case) for case in cases_of([p for p in planned if p.cell.key not in done])]
        stream.write(f"run {run_id} on Ray ({len(nodes)} node(s)): {sum(len(j.cells) for j in jobs)} cells in "
                     f"{len(jobs)} case task(s) on {', '.join(t.name or 'any node' for t in targets)}, "
                     f"{options.threads} threads, {options.repeats} processes per cell\n")
        try:
            Driver(ray, ledger, options, selection, command, stream).run(jobs)
        finally:
            ledger.finish()
        return ledger.records()
    finally:
        ray.shutdown()
