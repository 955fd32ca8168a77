"""Threads that are real: the busy threads next to the requested count, XLA's real thread knob, and OpenBLAS
kernels chosen by the CPU rather than by an inherited shell setting."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backends import get_backend
from models import get_workload
from suites.interference import Snapshot, Window, summarize_window
from suites.matrix import Cell
from suites.rounds import merge_processes
from suites.runner import CellOptions, cell_environment, run_cell_isolated
from suites.stats import RepeatPolicy

# Live measurements of this machine's threads and load: not beside another test worker (noxfile.py).
pytestmark = pytest.mark.serial

LINUX = Path("/proc/stat").exists()
BRIEF = RepeatPolicy(min_runs=3, min_time_s=0.5, max_time_s=2.0, floor_runs=3)


def test_more_busy_threads_than_requested_are_flagged() -> None:
    start = Snapshot(0.0, 100.0, 0.0, 400.0, {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0})
    # 2 s: three threads busy 1.2 s each, a caller that waited (0.1 s): three count, the caller does not.
    end = Snapshot(2.0, 103.7, 0.0, 403.7, {1: 1.2, 2: 1.2, 3: 1.2, 4: 0.1})
    over = summarize_window(start, end, requested_threads=2)
    assert over["observed_threads"] == 3 and over["requested_threads"] == 2 and over["threads_exceeded"]
    assert over["busiest_threads_share"] == pytest.approx(2.4 / 3.7, abs=0.01)
    within = summarize_window(start, end, requested_threads=3)
    assert not within["threads_exceeded"] and within["busiest_threads_share"] == pytest.approx(3.6 / 3.7, abs=0.01)
    assert "threads_exceeded" not in summarize_window(start, end)  # no count requested, no judgement


def _window_over_hashing_threads(count: int, requested: int, seconds: float = 1.0) -> dict:
    """A window while `count` threads do real parallel work (hashlib releases the GIL on large buffers) and the
    caller sleeps; the threads outlive the window, as a library's pool does (ended threads leave /proc)."""
    buffer, stop = b"x" * (1 << 20), threading.Event()

    def work() -> None:
        while not stop.is_set():
            hashlib.sha256(buffer).digest()

    workers = [threading.Thread(target=work) for _ in range(count)]
    for worker in workers:
        worker.start()
    try:
        with Window(requested_threads=requested) as window:
            time.sleep(seconds)  # the caller waits: never one of the busy threads
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    return window.result


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_live_three_hashing_threads_exceed_one_requested_and_one_does_not_exceed_two() -> None:
    within = _window_over_hashing_threads(1, requested=2)
    assert within["observed_threads"] == 1 and not within["threads_exceeded"], within
    over = _window_over_hashing_threads(3, requested=1)
    if not over["threads_exceeded"] and over["disturbed"]:
        # Other work left each thread under a quarter of a core: below the busy share, nothing to judge.
        pytest.skip(f"the machine was too busy to see three threads: {over}")
    assert over["observed_threads"] >= 2 and over["threads_exceeded"], over
    assert over["busiest_threads_share"] < 0.6, over  # the work spread over three threads, not one


def _process(observed: int, exceeded: bool) -> dict:
    return {"status": "ok", "timing": {"samples_s": [1e-3, 1.1e-3], "median_s": 1e-3},
            "interference": {"observed_threads": observed, "requested_threads": 2, "threads_exceeded": exceeded}}


def test_the_cell_keeps_the_most_busy_threads_and_any_excess_of_its_processes() -> None:
    merged = merge_processes([_process(2, False), _process(3, True), _process(1, False)], "k")
    assert merged["observed_threads"] == 3 and merged["threads_exceeded"]
    assert not merge_processes([_process(2, False), _process(1, False)], "k")["threads_exceeded"]


def test_xla_thread_env_sets_pjrt_nproc_and_no_bogus_xla_flag() -> None:
    for threads in (1, 2, 8):
        env = cell_environment("xla", threads)
        assert env["PJRT_NPROC"] == str(threads)
        assert "intra_op_parallelism_threads" not in env["XLA_FLAGS"]
    assert "intra_op_parallelism_threads" not in get_backend("xla").thread_knob


def _forced_architecture(coretype: str) -> str:
    code = "import numpy, threadpoolctl; print(threadpoolctl.threadpool_info()[0]['architecture'])"
    return subprocess.run([sys.executable, "-c", code], env={"OPENBLAS_CORETYPE": coretype}, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_a_cell_drops_an_inherited_openblas_coretype_and_records_it(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    forced = _forced_architecture("Prescott")  # what the old kernels report
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Prescott")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)  # some shells export it too (it would be dropped as well)
    options = CellOptions(threads=1, timeout_s=120, repeat_policy=BRIEF, repeats=1, cache_dir=str(tmp_path))
    result = run_cell_isolated(Cell("numpy", "default", "matmul", get_workload("matmul").tiny_case), options)
    assert result["status"] == "ok", result
    assert result["dropped_env"] == {"OPENBLAS_CORETYPE": "Prescott"}
    blas = result["details"]["blas"]
    assert blas["internal_api"] == "openblas" and blas["version"] and blas["architecture"] != forced, blas
    assert result["interference"]["requested_threads"] == 1


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_an_xla_cell_with_one_thread_keeps_at_most_one_thread_busy(tmp_path: Path) -> None:
    # 256^3: the call's work outweighs Python's dispatch (at the tiny case the caller and XLA's client thread take
    # turns, each above the busy share: two threads on one core, see backends/jax_xla.py).
    options = CellOptions(threads=1, timeout_s=120, repeat_policy=BRIEF, repeats=1, cache_dir=str(tmp_path))
    result = run_cell_isolated(Cell("xla", "default", "matmul", "256x256x256"), options)
    assert result["status"] == "ok", result
    assert result["details"]["pjrt_nproc"] == "1"
    assert result["interference"]["observed_threads"] <= 1, result["interference"]
