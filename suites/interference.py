"""What else ran while a cell timed its warm runs, and how many of its own threads were really busy.

A cell process opens a `Window` before its warm runs and closes it after. From /proc it takes, at both ends,
the machine's CPU time (`/proc/stat`: busy and steal jiffies) and each of its own threads' CPU time
(`/proc/self/task/*/stat`). The differences give:
- `observed_threads`: threads that were busy for at least BUSY_SHARE of the window (the thread count a library
  really used, next to the one requested). A caller thread that only waits for a pool stays below it and is not
  counted; one that spins is, rightly: it takes a core from the pool;
- with the requested count known: `requested_threads`, `threads_exceeded` (observed above requested) and
  `busiest_threads_share`, the share of the threads' CPU time done by the `requested` busiest ones (below ~0.9:
  the work hopped over more threads than requested, e.g. 4 threads at 20% each, which no thread count shows);
- `own_cores`: the cell's CPU time over the window's wall time (cores it kept busy on average);
- `other_cores`: the machine's busy time not spent by the cell, in cores (other work, kernel threads, a
  neighbour's benchmark);
- `steal_share`: the share of the machine's time the hypervisor gave to other guests.
A window with `other_cores` above OTHER_CORES_LIMIT or `steal_share` above STEAL_LIMIT is `disturbed`: its
timings were shared with something else, so the runner repeats the cell.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUSY_SHARE = 0.25  # a thread busy a quarter of the window counts as one of the cell's working threads
OTHER_CORES_LIMIT = 0.3  # cores of other work on average: a 2-core machine loses ~15% to 0.3 cores
STEAL_LIMIT = 0.05
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Snapshot:
    wall_s: float
    busy_s: float  # the machine's non-idle CPU time, all CPUs
    steal_s: float
    total_s: float
    threads_s: dict[int, float]  # own thread id -> CPU time
    process_s: float = 0.0  # the whole process's CPU time, threads that already ended included


def machine_cpu_s(stat_text: str) -> tuple[float, float, float]:
    """(busy, steal, total) seconds of every CPU from /proc/stat's "cpu" line (idle and iowait are not busy)."""
    for line in stat_text.splitlines():
        if line.startswith("cpu "):
            values = [int(v) for v in line.split()[1:]]
            user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
            # guest time is already counted in user and nice
            busy = user + nice + system + irq + softirq
            total = busy + idle + iowait + steal
            return busy / CLOCK_TICKS, steal / CLOCK_TICKS, total / CLOCK_TICKS
    raise ValueError("no aggregate cpu line in /proc/stat")


def stat_cpu_s(stat_text: str) -> float:
    """utime + stime of a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat line, in seconds."""
    fields = stat_text[stat_text.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def thread_cpu_s(task_dir: Path = Path("/proc/self/task")) -> dict[int, float]:
    """CPU time (user + system) of each live thread of a process, from /proc/<pid>/task/<tid>/stat."""
    found = {}
    for entry in task_dir.iterdir() if task_dir.exists() else ():
        try:
            found[int(entry.name)] = stat_cpu_s((entry / "stat").read_text())
        except OSError:  # the thread ended between listing and reading
            continue
    return found


def snapshot(proc: Path = Path("/proc")) -> Snapshot:
    busy, steal, total = machine_cpu_s((proc / "stat").read_text())
    return Snapshot(time.perf_counter(), busy, steal, total, thread_cpu_s(proc / "self" / "task"),
                    stat_cpu_s((proc / "self" / "stat").read_text()))


def summarize_window(start: Snapshot, end: Snapshot, requested_threads: int | None = None) -> dict[str, Any]:
    """The record's `interference` fields for the time between two snapshots."""
    wall = max(end.wall_s - start.wall_s, 1e-9)
    per_thread = {tid: end.threads_s[tid] - start.threads_s.get(tid, 0.0) for tid in end.threads_s}
    # The process's own counter also holds threads that ended inside the window; synthetic snapshots have none.
    own = max(end.process_s - start.process_s, sum(max(v, 0.0) for v in per_thread.values()))
    total = max(end.total_s - start.total_s, 1e-9)
    steal_share = (end.steal_s - start.steal_s) / total
    other = max(0.0, (end.busy_s - start.busy_s) - own) / wall
    enough_ticks = wall * CLOCK_TICKS >= 20  # shorter windows are below /proc's resolution: no judgement
    observed = sum(v >= BUSY_SHARE * wall for v in per_thread.values())
    result = {
        "window_s": round(wall, 3),
        "observed_threads": observed,
        "own_cores": round(own / wall, 2),
        "other_cores": round(other, 2),
        "steal_share": round(steal_share, 3),
        "disturbed": bool(enough_ticks and (other > OTHER_CORES_LIMIT or steal_share > STEAL_LIMIT)),
    }
    if requested_threads is not None:
        result.update(requested_threads=requested_threads, threads_exceeded=observed > requested_threads,
                      busiest_threads_share=busiest_share(per_thread, requested_threads))
    return result


def busiest_share(per_thread: dict[int, float], count: int) -> float | None:
    """The share of the threads' CPU time done by the `count` busiest (None: no thread used any)."""
    times = sorted((max(v, 0.0) for v in per_thread.values()), reverse=True)
    total = sum(times)
    return round(sum(times[:count]) / total, 2) if total > 0 else None


class Window:
    """`with Window(requested_threads=n) as w: ...` then `w.result`: the interference of the code run inside."""

    def __init__(self, requested_threads: int | None = None) -> None:
        self.requested_threads = requested_threads
        self.result: dict[str, Any] = {}
        self._start: Snapshot | None = None

    def __enter__(self) -> Window:
        self._start = snapshot() if Path("/proc/stat").exists() else None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._start is not None:
            self.result = summarize_window(self._start, snapshot(), self.requested_threads)
