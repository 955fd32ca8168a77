"""What a person watching a run sees: one progress line per cell, and the summary table at the end."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

HEARTBEAT_S = 60.0
STATUS_SHORT = {"unsupported": "unsup", "unavailable": "n/a", "compile_error": "CE", "runtime_error": "RE",
                "wrong_result": "WRONG", "timeout": "T/O", "crash": "CRASH", "oom": "OOM"}


def _fmt_seconds(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1.0:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def _fmt_clock(s: float) -> str:
    minutes, seconds = divmod(int(s), 60)
    return f"{minutes}:{seconds:02d}"


class Progress:
    """Prints `[done/total elapsed] cell -> outcome`; on a terminal, also which cell is running now."""

    def __init__(self, total: int, stream: TextIO = sys.stderr, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.total, self.done, self.stream, self.heartbeat_s = total, 0, stream, heartbeat_s
        self.started = time.perf_counter()
        self.live = stream.isatty()
        self.next_heartbeat_s = self.heartbeat_s

    def start(self, key: str) -> None:
        self.next_heartbeat_s = self.heartbeat_s
        if self.live:
            self.stream.write(f"\r\033[K[{self.done + 1}/{self.total} {self._elapsed()}] {key} ...")
            self.stream.flush()

    def waiting(self, key: str, elapsed_s: float, phase: str) -> None:
        """A long cell (TVM tuning takes minutes) shows it is alive: live on a terminal, else once a minute."""
        if self.live:
            self.stream.write(f"\r\033[K[{self.done + 1}/{self.total} {self._elapsed()}] {key} ... "
                              f"{phase} {_fmt_clock(elapsed_s)}")
            self.stream.flush()
        elif elapsed_s >= self.next_heartbeat_s:
            self.next_heartbeat_s += self.heartbeat_s
            self.stream.write(f"[{self.done + 1}/{self.total} {self._elapsed()}] {key}: still running "
                              f"({phase}, {_fmt_clock(elapsed_s)})\n")
            self.stream.flush()

    def finish(self, key: str, record: dict[str, Any]) -> None:
        self.done += 1
        prefix = "\r\033[K" if self.live else ""
        self.stream.write(f"{prefix}[{self.done}/{self.total} {self._elapsed()}] {key}: {outcome(record)}\n")
        self.stream.flush()

    def _elapsed(self) -> str:
        return _fmt_clock(time.perf_counter() - self.started)


def outcome(record: dict[str, Any]) -> str:
    if record["status"] != "ok":
        return f"{record['status']}: {record['reason']}"
    timing = record["timing"]
    return (f"ok {_fmt_seconds(timing['median_s'])} median of {timing['n']}, "
            f"compile {_fmt_seconds(record.get('compile_s', 0.0))}, {record['gflops']:.3g} GFLOP/s")


def summary_table(records: Iterable[dict[str, Any]]) -> str:
    """Rows: workload/case; columns: backend/variant; ok cells show the median, others a short status."""
    rows: dict[str, dict[str, str]] = {}
    columns: list[str] = []
    for r in records:
        column = r["backend"] if r["variant"] == "default" else f"{r['backend']}/{r['variant']}"
        if column not in columns:
            columns.append(column)
        cell = _fmt_seconds(r["timing"]["median_s"]) if r["status"] == "ok" else STATUS_SHORT.get(r["status"], "?")
        rows.setdefault(f"{r['workload']} {r['case']}", {})[column] = cell
    if not rows:
        return "(no results)"
    first = max(len("workload case"), *(len(k) for k in rows))
    widths = [max(len(c), *(len(row.get(c, "")) for row in rows.values())) for c in columns]
    lines = ["  ".join(["workload case".ljust(first), *(c.rjust(w) for c, w in zip(columns, widths, strict=True))])]
    for key, row in rows.items():
        cells = (row.get(c, "-").rjust(w) for c, w in zip(columns, widths, strict=True))
        lines.append("  ".join([key.ljust(first), *cells]))
    legend = ", ".join(f"{short}={status}" for status, short in STATUS_SHORT.items())
    return "\n".join(lines) + f"\n(median warm latency; {legend}; -=not run)"


def status_counts(records: Iterable[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts
