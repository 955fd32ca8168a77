"""Resident memory of a process and its descendants, and the machine's memory: psutil when installed, /proc otherwise.

psutil is a CPU-suite dependency (TVM's MetaSchedule needs it anyway); the GPU machine, where nothing can be
installed, may not have it, so the runner falls back to reading /proc (Linux) directly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

try:
    import psutil
except ImportError:  # pragma: no cover - exercised where psutil is missing
    psutil = None

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def total_memory_bytes() -> int:
    if psutil is not None:
        return int(psutil.virtual_memory().total)
    return proc_total_memory_bytes()


def proc_total_memory_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise OSError("no MemTotal in /proc/meminfo")


class ProcessTree:
    """A running process whose tree's resident memory is sampled while it runs."""

    def __init__(self, pid: int, use_psutil: bool = True) -> None:
        self.pid = pid
        self._process: Any = psutil.Process(pid) if (psutil is not None and use_psutil) else None

    def rss(self) -> int:
        """Summed RSS of the process and all its descendants in bytes (0 once it is gone)."""
        if self._process is None:
            return _proc_tree_rss(self.pid)
        try:
            procs = [self._process, *self._process.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total


def _proc_parents() -> dict[int, int]:
    """pid -> parent pid of every process, from /proc/<pid>/stat (the field after the parenthesised name)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1:
            parents[int(entry)] = int(fields[1])
    return parents


def _proc_rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


def _proc_tree_rss(pid: int) -> int:
    parents = _proc_parents()
    if pid not in parents:
        return 0
    tree, frontier = {pid}, [pid]
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(_proc_rss(p) for p in tree)
