"""Machine calibration for the roofline: the FP32 FMA peak and the memory bandwidth, measured on this machine.

`measure_calibration(threads)` compiles `calibration.c` with the system C compiler (-O3 -march=native -fopenmp),
runs it in a subprocess (so no OpenMP runtime is loaded into the caller) and returns the best of a few repeats.
Spec sheets do not help here: a VM's clocks, SMT sharing and 512-bit datapaths (full or split in two) are
exactly what decides the attainable peak, so it is measured instead of computed. Takes 1-3 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from backends.c_compile import CFLAGS, compile_c, compiler_version

SOURCE = Path(__file__).resolve().parent / "calibration.c"
FMA_ITERS = 1 << 24  # per thread per repeat: 16 chains x 16 lanes x 2 FLOP x 2^24 = 8.6 GFLOP (~0.1 s/thread)
STREAM_DOUBLES = 20_000_000  # 160 MB per array, 3 arrays: far beyond any L3 of today
REPEATS = 5


def measure_calibration(threads: int) -> dict[str, Any]:
    """FP32 FMA peak (GFLOP/s) and STREAM copy/triad bandwidth (GB/s) on `threads` threads."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mlcompare-calibration-") as tmp:
        binary = Path(tmp) / "calibration"
        compile_s = compile_c([SOURCE], binary, shared=False)
        cmd = [str(binary), str(threads), str(FMA_ITERS), str(STREAM_DOUBLES), str(REPEATS)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120,
                              env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    if done.returncode != 0:
        raise RuntimeError(f"calibration kernel failed ({done.returncode}): {done.stderr.strip()[:300]}")
    raw = json.loads(done.stdout)
    peaks = {"512": raw["peak512_gflops"], "256": raw["peak256_gflops"]}
    return {
        "peak_gflops": max(peaks.values()),
        "peak_gflops_by_vector_bits": peaks,
        "bandwidth_gbps": raw["triad_gbps"],
        "copy_gbps": raw["copy_gbps"],
        "triad_gbps": raw["triad_gbps"],
        "threads": raw["threads"],
        "method": (f"best of {REPEATS}; peak: independent FP32 FMA chains per thread (16 on 512-bit, 12 on "
                   f"256-bit GCC vectors: no spills on AVX2), {FMA_ITERS} iterations per thread, the faster width; "
                   f"bandwidth: STREAM copy and triad on 3 x {STREAM_DOUBLES} float64 arrays (bytes counted as STREAM, "
                   f"no write-allocate); "
                   f"{' '.join(CFLAGS)}"),
        "compiler": compiler_version(),
        "compile_s": compile_s,
        "measured_s": time.perf_counter() - t0,
    }


def attainable_gflops(calibration: dict[str, Any], flops: float, bytes_moved: float) -> float:
    """Roofline: min(peak, arithmetic intensity x bandwidth) for a kernel doing `flops` over `bytes_moved`."""
    intensity = flops / bytes_moved if bytes_moved > 0 else float("inf")
    return min(calibration["peak_gflops"], intensity * calibration["bandwidth_gbps"])


if __name__ == "__main__":
    import sys

    from suites.machine import usable_cores

    print(json.dumps(measure_calibration(int(sys.argv[1]) if len(sys.argv) > 1 else usable_cores()), indent=1))
