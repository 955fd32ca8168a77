"""Warm-run timing and GPU memory of CUDA cells (suites/cell.py uses this only when the cell's device is cuda;
CPU cells keep suites.stats.repeat and its perf_counter clock).

Each warm run, as in triton.testing.do_bench:
1. a 256 MiB buffer is zeroed (do_bench's L2 flush: H100/H200 have 50 MiB of L2), and the device synchronised;
2. a CUDA event is recorded, the prepared run is called, which returns only once its GPU work is done (the
   synchronisation is inside the timed region), and a second event is recorded;
3. the sample is the time between the two events on the GPU's clock.
Events come from torch for every backend (JAX's own streams included: the run synchronises before the second
event is recorded). Without torch the loop falls back to perf_counter, and says so.

GPU memory: for torch-based backends torch.cuda.max_memory_allocated (tensors the caching allocator handed out;
the flush buffer is subtracted), for JAX the device's memory_stats()["peak_bytes_in_use"] (JAX preallocates a pool,
which this does not count).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from suites.stats import RepeatPolicy

L2_FLUSH_BYTES = 256 * 2**20
MB = 2**20


class CudaTimer:
    """Times the warm runs of one CUDA cell and reports its GPU memory; `library` is "torch" or "jax"."""

    def __init__(self, library: str) -> None:
        self.library = library
        self.method = "cuda-events"
        self.note = ""
        self.torch: Any = None
        try:
            import torch

            if torch.cuda.is_available():
                self.torch = torch
            else:
                self.method, self.note = "host-perf-counter", "torch sees no CUDA device"
        except ImportError:
            self.method, self.note = "host-perf-counter", "torch is not importable"
        # High-water mark of compile and first run, read before the flush buffer exists.
        self.peak_before_runs = self._torch_peak()
        self.peak_runs: int | None = None
        self.host_samples: list[float] = []

    def _torch_peak(self) -> int | None:
        if self.torch is None or self.library != "torch":
            return None
        return int(self.torch.cuda.max_memory_allocated())

    def repeat(self, run: Callable[[], Any], policy: RepeatPolicy) -> list[float]:
        if self.torch is None:
            return self._host_repeat(run, policy)
        torch = self.torch
        flush = torch.empty(L2_FLUSH_BYTES // 4, dtype=torch.int32, device="cuda")
        if self.library == "torch":
            torch.cuda.reset_peak_memory_stats()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        samples: list[float] = []
        begin = time.perf_counter()
        while True:
            flush.zero_()
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            start.record()
            run()
            end.record()
            end.synchronize()
            self.host_samples.append(time.perf_counter() - t0)
            samples.append(start.elapsed_time(end) / 1e3)  # elapsed_time is in milliseconds
            if policy.done(len(samples), time.perf_counter() - begin):
                break
        if self.library == "torch":
            self.peak_runs = int(torch.cuda.max_memory_allocated()) - flush.numel() * flush.element_size()
        del flush
        return samples

    def _host_repeat(self, run: Callable[[], Any], policy: RepeatPolicy) -> list[float]:
        samples: list[float] = []
        begin = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            run()
            samples.append(time.perf_counter() - t0)
            if policy.done(len(samples), time.perf_counter() - begin):
                return samples

    def report(self) -> dict[str, Any]:
        """The record's `device_timing` and `gpu_memory` fields."""
        timing: dict[str, Any] = {"method": self.method,
                                  "l2_flush_bytes": L2_FLUSH_BYTES if self.torch is not None else 0}
        if self.note:
            timing["note"] = self.note
        if self.host_samples:
            timing["host_median_s"] = statistics.median(self.host_samples)
        return {"device_timing": timing, "gpu_memory": self._memory()}

    def _memory(self) -> dict[str, Any]:
        if self.library == "jax":
            return _jax_memory()
        if self.torch is None:
            return {"library": "torch", "note": self.note}
        peaks = [p for p in (self.peak_before_runs, self.peak_runs) if p is not None]
        memory: dict[str, Any] = {"library": "torch", "peak_mb": round(max(peaks) / MB, 1) if peaks else None}
        if self.peak_before_runs is not None:
            memory["peak_compile_first_run_mb"] = round(self.peak_before_runs / MB, 1)
        if self.peak_runs is not None:
            memory["peak_warm_runs_mb"] = round(self.peak_runs / MB, 1)
        memory["reserved_mb"] = round(self.torch.cuda.memory_reserved() / MB, 1)
        return memory


def _jax_memory() -> dict[str, Any]:
    try:
        import jax

        stats = jax.devices()[0].memory_stats() or {}
    except Exception as exc:  # a side metric must not fail the cell
        return {"library": "jax", "note": f"memory_stats unavailable: {type(exc).__name__}: {exc}"[:300]}
    if "peak_bytes_in_use" not in stats:
        return {"library": "jax", "note": "memory_stats() has no peak_bytes_in_use on this device"}
    memory = {"library": "jax", "peak_mb": round(stats["peak_bytes_in_use"] / MB, 1)}
    if "bytes_limit" in stats:
        memory["pool_limit_mb"] = round(stats["bytes_limit"] / MB, 1)
    return memory


def timer_for(device: str, definition: str) -> CudaTimer | None:
    """The timer of a cuda cell (None for every other device: the CPU path stays suites.stats.repeat)."""
    if device != "cuda":
        return None
    return CudaTimer("jax" if definition == "jax" else "torch")
