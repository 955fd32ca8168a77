"""Entry point of a cell's subprocess: pin its CPUs and tie its life to the runner before any library
(and its thread pools: OpenBLAS starts threads at `import numpy`) is imported, then run suites.cell.

Done here rather than in a subprocess preexec_fn, which runs Python in a fork of a possibly multithreaded
parent (the test process imports JAX) and can deadlock.
"""

import ctypes
import os
import runpy
import signal
import sys

CPUS_ENV = "MLCOMPARE_CELL_CPUS"
RUNNER_PID_ENV = "MLCOMPARE_RUNNER_PID"


def main() -> None:
    cpus = os.environ.get(CPUS_ENV, "")
    if cpus:
        os.sched_setaffinity(0, [int(c) for c in cpus.split(",")])
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: a killed runner leaves no orphan cell
    except (OSError, AttributeError):
        pass
    if os.getppid() != int(os.environ.get(RUNNER_PID_ENV, os.getppid())):
        sys.exit("the runner exited before this cell started")
    runpy.run_module("suites.cell", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
