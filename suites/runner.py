"""Run cells in isolated subprocesses: a crash, hang or memory blow-up costs one cell, never the run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from backends import get_backend
from suites import proctree
from suites.cell_launcher import CPUS_ENV, RUNNER_PID_ENV
from suites.machine import REPO_ROOT, usable_cores
from suites.matrix import Cell
from suites.stats import RepeatPolicy

POLL_S = 0.1
# Shell settings that force OpenBLAS's kernels (an old core type, a cache size): a benchmark cell measures the
# kernels OpenBLAS picks for this CPU, so they are dropped from its environment and recorded (tests keep them).
DROPPED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
RUN_PHASES = ("first_run", "warm_runs")
STDERR_TAIL_CHARS = 3000


@dataclass(frozen=True)
class CellOptions:
    """Settings shared by every cell of a run (recorded in the manifest)."""

    threads: int = field(default_factory=usable_cores)
    timeout_s: float = 900.0
    memory_limit_mb: float = 0.0  # 0: 80% of the machine's memory
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    repeat_policy: RepeatPolicy = field(default_factory=RepeatPolicy)
    # Independent processes per cell, run in interleaved rounds (suites/rounds.py); each times warm runs.
    repeats: int = 3
    cache_dir: str = str(REPO_ROOT / "results" / "cache")

    def memory_limit_bytes(self) -> int:
        if self.memory_limit_mb > 0:
            return int(self.memory_limit_mb * 2**20)
        return int(0.8 * proctree.total_memory_bytes())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def common_thread_env(threads: int) -> dict[str, str]:
    """Set for every backend: the OpenMP/BLAS pools any library may pull in."""
    return {name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def cell_environment(backend_name: str, threads: int, device: str = "cpu") -> dict[str, str]:
    """The thread- and device-related environment a cell of this backend gets (also what the manifest records)."""
    backend = get_backend(backend_name)
    return {**common_thread_env(threads), **backend.thread_env(threads), **backend.device_env(device)}


def inherited_environment() -> tuple[dict[str, str], dict[str, str]]:
    """The runner's environment less DROPPED_ENV, and what was dropped (the record's `dropped_env`)."""
    dropped = {name: os.environ[name] for name in DROPPED_ENV if name in os.environ}
    return {k: v for k, v in os.environ.items() if k not in dropped}, dropped


def _affinity(threads: int) -> list[int] | None:
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[:threads] if threads < len(cpus) else None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_cell_isolated(cell: Cell, options: CellOptions,
                      on_wait: Callable[[float, str], None] | None = None,
                      artifact_dir: Path | None = None) -> dict[str, Any]:
    """Run one cell in a fresh subprocess and return its measured fields (status always set).

    `on_wait(elapsed_s, phase)` is called while the cell runs, for progress displays. `artifact_dir` is shared by
    the processes of one cell (the first compiles into it, the rest load from it); by default the process's own.
    """
    workdir = Path(tempfile.mkdtemp(prefix="mlcompare-cell-"))
    artifacts = artifact_dir or workdir / "artifacts"
    spec = {**asdict(cell), "threads": options.threads, "seed": options.seed, "device": options.device,
            "dtype": options.dtype,
            "repeat_policy": asdict(options.repeat_policy), "workdir": str(workdir / "work"),
            "cache_dir": str(Path(options.cache_dir) / cell.backend), "artifact_dir": str(artifacts)}
    spec_path, result_path = workdir / "spec.json", workdir / "result.json"
    spec_path.write_text(json.dumps(spec))
    (workdir / "work").mkdir()
    cpus = _affinity(options.threads)
    inherited, dropped_env = inherited_environment()
    env = {**inherited, **cell_environment(cell.backend, options.threads, options.device), "PYTHONHASHSEED": "0",
           # Inductor's on-disk caches per cell: the first process compiles cold, the cell's later ones reuse them.
           "TORCHINDUCTOR_CACHE_DIR": str(artifacts / "torchinductor"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
           CPUS_ENV: ",".join(map(str, cpus or [])), RUNNER_PID_ENV: str(os.getpid())}
    stderr_path = workdir / "stderr.txt"
    limit = options.memory_limit_bytes()
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    killed_for: str | None = None
    peak_tree_rss = 0
    peak_run_rss = 0  # sampled while the compiled workload runs (first and warm runs)
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "suites.cell_launcher", str(spec_path), str(result_path)],
            cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
            start_new_session=True,  # its own process group: a timeout kills compilers it spawned too
        )
        watched = proctree.ProcessTree(proc.pid)
        try:
            while proc.poll() is None:
                rss, phase = watched.rss(), _phase(result_path)
                peak_tree_rss = max(peak_tree_rss, rss)
                if phase in RUN_PHASES:
                    peak_run_rss = max(peak_run_rss, rss)
                if peak_tree_rss > limit:
                    killed_for = "oom"
                elif time.perf_counter() - started > options.timeout_s:
                    killed_for = "timeout"
                if killed_for:
                    break
                if on_wait:
                    on_wait(time.perf_counter() - started, phase)
                time.sleep(POLL_S)
        finally:  # also on Ctrl-C: never leave a cell running behind the runner
            if proc.poll() is None:
                _kill_group(proc)
    wall_s = time.perf_counter() - started
    result = _collect(proc.returncode, killed_for, result_path, stderr_path, options, limit)
    result["wall_s"] = wall_s
    # Other work on the machine distorts timings (2x on a shared 2-core box): the 1-minute load average at the
    # cell's start and end shows when it did (a quiet machine reads about the cell's own thread count).
    result["load_avg"] = [round(load_start, 2), round(os.getloadavg()[0], 2)]
    result["peak_tree_rss_mb"] = round(peak_tree_rss / 2**20, 1)
    if peak_run_rss:
        result["peak_rss_run_mb"] = round(peak_run_rss / 2**20, 1)
    result["affinity"] = cpus
    if dropped_env:
        result["dropped_env"] = dropped_env
    shutil.rmtree(workdir, ignore_errors=True)
    return result


def _phase(result_path: Path) -> str:
    try:
        return result_path.with_suffix(".phase").read_text()
    except OSError:
        return "start"


def _collect(returncode: int | None, killed_for: str | None, result_path: Path, stderr_path: Path,
             options: CellOptions, limit: int) -> dict[str, Any]:
    phase = _phase(result_path)
    stderr_tail = stderr_path.read_bytes()[-STDERR_TAIL_CHARS:].decode("utf-8", "replace")
    if killed_for == "timeout":
        return {"status": "timeout", "reason": f"no result after {options.timeout_s:g} s (phase: {phase})",
                "stderr_tail": stderr_tail}
    if killed_for == "oom":
        return {"status": "oom", "reason": f"memory above the {limit / 2**30:.1f} GiB limit (phase: {phase})",
                "stderr_tail": stderr_tail}
    if result_path.exists():
        return json.loads(result_path.read_text())
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (possibly the kernel's OOM killer)" if name == "SIGKILL" else ""
        return {"status": "crash", "reason": f"killed by {name}{hint} (phase: {phase})", "signal": name,
                "stderr_tail": stderr_tail}
    last = stderr_tail.strip().splitlines()[-1:] or [""]
    return {"status": "crash", "reason": f"exit code {returncode} without a result (phase: {phase}): {last[0][:300]}",
            "stderr_tail": stderr_tail}
