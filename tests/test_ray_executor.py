"""The Ray executor on a real local cluster: a head and worker nodes on loopback, labelled like two machines.

One cluster serves the module (starting nodes costs seconds on 2 cores); the node-loss test runs last because it
kills a node.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from suites.machine import REPO_ROOT
from suites.results import read_records
from tests.fake_backends import ENV_VALUE

ray = pytest.importorskip("ray", reason="the Ray executor's tests need ray (pip install -r requirements/ray.txt)")
from ray.cluster_utils import Cluster  # noqa: E402  (only once ray is known to be there)

# Kills nodes and waits on health-check timers: not beside another test worker (noxfile.py).
pytestmark = pytest.mark.serial

# RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0: Ray then keeps 127.0.0.1 as the driver's address instead of swapping in the
# machine's own IP (services.resolve_ip_for_localhost), which the loopback-only cluster does not listen on.
ENV = {**os.environ, "MLCOMPARE_EXTRA_BACKENDS": ENV_VALUE, "PYTHONPATH": str(REPO_ROOT),
       "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
# Loopback only, no dashboard; a dead node is noticed within about a second instead of half a minute.
HEAD = {"node_ip_address": "127.0.0.1", "include_dashboard": False, "num_cpus": 1,
        "_system_config": {"health_check_period_ms": 200, "health_check_failure_threshold": 3,
                           "health_check_initial_delay_ms": 0}}


def add_node(cluster: Cluster, machine: str, cpu: str) -> Any:
    """A worker node like one machine of a fleet: it runs one case at a time and names its results directory."""
    with mock.patch.dict(os.environ, {"MLCOMPARE_MACHINE": machine}):  # the node's processes inherit it
        return cluster.add_node(node_ip_address="127.0.0.1", num_cpus=1, resources={"mlcompare_node": 1},
                                labels={"mlcompare/cpu": cpu})


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    cluster = Cluster(initialize_head=True, head_node_args=HEAD)
    add_node(cluster, "box-alpha", "alpha")
    add_node(cluster, "box-beta", "beta")
    yield cluster
    cluster.shutdown()


def ray_run(cluster: Cluster | None, results: Path, *args: str) -> list[str]:
    """`python -m suites run ARGS` on the cluster (None: with the local executor)."""
    executor = ["--executor", "ray", "--ray-address", cluster.address] if cluster else []
    return [sys.executable, "-m", "suites", "run", *executor, "--results-dir", str(results), *args]


def cli(cluster: Cluster | None, results: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ray_run(cluster, results, *args), cwd=REPO_ROOT, env=ENV, capture_output=True, text=True,
                          timeout=120)


def machine_run(results: Path, machine: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    (manifest_path,) = results.glob(f"{machine}/*.manifest.json")
    records, problems = read_records(manifest_path.with_name(manifest_path.name.replace(".manifest.json", ".jsonl")))
    assert not problems
    return json.loads(manifest_path.read_text()), records


def test_each_target_runs_the_matrix_on_its_own_nodes_into_its_machine_directory(cluster: Cluster,
                                                                                  tmp_path: Path) -> None:
    args = ("--backends", "numpy,fake-wrong", "--workloads", "matmul", "--quick", "--threads", "1", "--repeats", "1")
    done = cli(cluster, tmp_path, *args, "--on", "cpu=alpha", "--on", "cpu=beta")
    assert done.returncode == 0, done.stderr[-3000:]
    expected = {"numpy/default/matmul/256x256x256": "ok", "fake-wrong/default/matmul/256x256x256": "wrong_result"}
    run_ids = set()
    for machine, cpu in (("box-alpha", "alpha"), ("box-beta", "beta")):
        manifest, records = machine_run(tmp_path, machine)
        assert {r["cell"]: r["status"] for r in records} == expected and len(records) == 2  # each cell once
        (node,) = manifest["nodes"]  # described once, though it ran several cells
        assert node["node"]["labels"] == {"mlcompare/cpu": cpu}
        assert node["calibration"] and node["machine"]["usable_cores"] >= 1 and node["versions"]["numpy"]
        assert all(r["node"]["id"] == node["node"]["id"] and r["target"] == f"cpu={cpu}" for r in records)
        assert manifest["executor"]["targets"] == ["cpu=alpha", "cpu=beta"]
        members = manifest["executor"]["cluster"]  # the whole cluster: the head that only drives, both workers
        assert sorted((m["head"], m["runs_cells"], m["labels"].get("mlcompare/cpu")) for m in members) == [
            (False, True, "alpha"), (False, True, "beta"), (True, False, None)]
        assert manifest["sessions"][-1]["cells_recorded"] == 2 and manifest["status_counts"]["ok"] == 1
        run_ids |= {manifest["run_id"], *(r["run_id"] for r in records)}
    (run_id,) = run_ids  # one run id across the cluster

    again = cli(None, tmp_path, "--resume", run_id)
    assert again.returncode == 2 and "ran with --executor ray" in again.stderr
    again = cli(cluster, tmp_path, "--resume", run_id)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 cells in 0 case task(s)" in again.stderr
    for machine in ("box-alpha", "box-beta"):
        assert len(machine_run(tmp_path, machine)[1]) == 2


def test_a_target_no_node_offers_is_one_line_and_exit_2(cluster: Cluster, tmp_path: Path) -> None:
    done = cli(cluster, tmp_path, "--backends", "numpy", "--workloads", "matmul", "--quick", "--on", "cpu=nope")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "no live node with mlcompare_node offers label mlcompare/cpu=nope" in done.stderr
    assert "mlcompare/cpu=alpha" in done.stderr  # what the cluster does offer
    assert not any(tmp_path.iterdir())


def first_record(results: Path, machine: str) -> dict[str, Any] | None:
    found = list(results.glob(f"{machine}/*.jsonl"))
    lines = found[0].read_text().splitlines() if found else []
    return json.loads(lines[0]) if lines and lines[0].endswith("}") else None


def test_a_lost_node_costs_no_record_and_its_cells_rerun_on_a_twin_or_crash(cluster: Cluster,
                                                                            tmp_path: Path) -> None:
    """Alpha has a twin, so its lost case reruns there; beta has none, so its lost cells are recorded as crashes."""
    twin = add_node(cluster, "box-alpha", "alpha")
    nodes = {n.node_id: n for n in cluster.worker_nodes}
    args = ("--backends", "fake-slow", "--workloads", "matmul", "--quick", "--threads", "1", "--repeats", "1",
            "--on", "cpu=alpha", "--on", "cpu=beta")
    proc = subprocess.Popen(ray_run(cluster, tmp_path, *args), cwd=REPO_ROOT, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    first: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 60
    while len(first) < 2 and time.monotonic() < deadline and proc.poll() is None:
        for machine in ("box-alpha", "box-beta"):
            record = first.get(machine) or first_record(tmp_path, machine)
            if record and machine not in first:
                first[machine] = record
                cluster.remove_node(nodes[record["node"]["id"]], allow_graceful=False)  # mid-case: 3 cells to go
        time.sleep(0.05)
    assert len(first) == 2, "a target recorded no cell before the kill"
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err[-3000:]
    cells = [f"fake-slow/{v}/matmul/256x256x256" for v in "abcd"]
    for machine in ("box-alpha", "box-beta"):
        manifest, records = machine_run(tmp_path, machine)
        assert sorted(r["cell"] for r in records) == cells  # every cell exactly once
        assert records[0] == first[machine]  # what was recorded before the node died is still there
        assert {e["node"]["id"] for e in manifest["nodes"]} == {r["node"]["id"] for r in records if r["node"]["id"]}
    alpha = machine_run(tmp_path, "box-alpha")[1]
    rerun = [r for r in alpha if r["attempt"] == 2]
    assert len(rerun) == 3 and all(r["status"] == "ok" for r in rerun)
    (survivor,) = {r["node"]["id"] for r in rerun}  # the other alpha node (the twin, or the first if it ran first)
    assert survivor != first["box-alpha"]["node"]["id"] and survivor in {twin.node_id, *nodes}
    assert all(r["node"]["labels"] == {"mlcompare/cpu": "alpha"} for r in rerun)
    lost = machine_run(tmp_path, "box-beta")[1][1:]
    assert len(lost) == 3 and all(r["status"] == "crash" and r["reason"].startswith("node lost") for r in lost)
