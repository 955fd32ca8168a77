"""Compile C at run time with the system compiler (the C + OpenMP baseline and the machine calibration share it).

Flags are those a performance-minded user would type: -O3 for the host's widest vectors, OpenMP for threads.
The compiler is `$CC` or `gcc`; its version goes into the records because it changes the numbers.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

CFLAGS = ("-O3", "-march=native", "-fopenmp", "-std=gnu11")
SOURCES = Path(__file__).resolve().parent / "c_sources"


def compiler() -> str:
    return os.environ.get("CC", "gcc")


def compiler_version() -> str:
    done = subprocess.run([compiler(), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0].strip() if done.returncode == 0 and done.stdout else "unknown"


def compile_c(sources: list[Path], output: Path, shared: bool, extra: tuple[str, ...] = ()) -> float:
    """Compile `sources` into `output` (a shared library or an executable); returns the wall time in seconds.

    Raises RuntimeError with the compiler's first error lines if it fails.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    cmd = [compiler(), *CFLAGS, *extra, *(("-shared", "-fPIC") if shared else ()),
           *map(str, sources), "-o", str(output), "-lm"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        first = "\n".join(done.stderr.strip().splitlines()[:5])
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {first}")
    return seconds
