"""Where a run's cells execute: `local` (this machine, one cell at a time) or `ray` (a cluster; docs/ray.md).

Both run every process of a cell through suites.runner.run_cell_isolated, in the interleaved rounds of
suites.rounds; they differ in who runs the cases and where the records land. Ray is imported only by the ray
executor, so the local one needs nothing beyond the requirements.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from suites.benchmark import build_manifest, run
from suites.matrix import PlannedCell, Selection, SelectionError
from suites.results import RunFiles
from suites.runner import CellOptions

EXECUTORS = ("local", "ray")


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", default="local", choices=EXECUTORS,
                        help="local: this machine; ray: the nodes of a Ray cluster (docs/ray.md)")
    parser.add_argument("--ray-address", default="", metavar="ADDR",
                        help="the cluster's address, e.g. 10.0.0.1:6379 (default: RAY_ADDRESS, or the local one)")
    parser.add_argument("--on", action="append", default=[], metavar="KEY=VALUE",
                        help="run the matrix on nodes labelled mlcompare/KEY=VALUE, e.g. cpu=znver5; repeatable, "
                             "each target runs the whole matrix (ray only; default: any node)")


def _manifest_executor(manifest: dict[str, Any] | None) -> dict[str, Any]:
    return dict((manifest or {}).get("executor") or {"name": "local"})


def check_executor(args: argparse.Namespace, manifest: dict[str, Any] | None) -> None:
    """Refuse option mixes that cannot work, before anything is written. `manifest`: the resumed run's."""
    if args.executor == "local" and (args.on or args.ray_address):
        raise SelectionError("--on and --ray-address need --executor ray")
    if args.executor == "ray" and args.machine:
        raise SelectionError("--machine names one machine; on Ray each node writes to its own machine directory "
                             "(set MLCOMPARE_MACHINE in a node's environment to name it)")
    if args.resume:
        ran_on = _manifest_executor(manifest)["name"]
        if ran_on != args.executor:
            raise SelectionError(f"run {args.resume} ran with --executor {ran_on}; resume it with the same executor")
        if args.on:
            raise SelectionError("--resume reruns the run's own targets; drop --on")


def execute(args: argparse.Namespace, files: RunFiles, selection: Selection, planned: list[PlannedCell],
            options: CellOptions, manifest: dict[str, Any] | None,
            command: str) -> list[tuple[Path, list[dict[str, Any]]]]:
    """Run the planned cells not yet recorded; returns each records file of the run with its records.

    `manifest` is the resumed run's, or None for a new run: each executor describes its own machines.
    """
    check_executor(args, manifest)
    if args.executor == "local":
        manifest = manifest or build_manifest(files.run_id, selection, options, command)
        return [(files.records, run(files, planned, options, manifest))]
    from suites.ray_executor import Target, run_on_ray

    names = _manifest_executor(manifest).get("targets") if args.resume else args.on
    targets = [Target.parse(name) if name else Target() for name in names or [""]]
    return run_on_ray(args.results_dir, files.run_id, planned, options, selection, command,
                      args.ray_address, targets, resumed=bool(args.resume), stream=sys.stderr)
