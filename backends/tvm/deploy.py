"""Deployment footprint: a tuned TVM kernel or model exported as a shared library and reloaded with the runtime only.

Two fresh processes per artifact (`python -m backends.tvm.deploy export|load SPEC.json OUT.json`), started by the
tuning-curve study (backends/tvm/tuning_curves.py), which records the result:
- export (full TVM, compiler included): build the tuned kernel (a tuning-curve point of backends/tvm/metaschedule.py)
  or the tuned model (backends/tvm/relax.py, variant "tuned"), verify it, time it in this process, `export_library` it;
- load (TVM_USE_RUNTIME_LIB=1: libtvm_runtime.so, no compiler): `load_module` the library, verify, time.
Both time with the suite's own repeat policy; `tvm_libraries` lists the TVM libraries mapped into the process,
which shows that the reload really ran on the runtime alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from suites.machine import REPO_ROOT
from suites.results import write_json_atomic
from suites.stats import RepeatPolicy, repeat, summarize
from suites.tolerance import verify

RUNTIME_ENV = "TVM_USE_RUNTIME_LIB"


def _workload_and_inputs(spec: dict[str, Any]) -> tuple[Any, Any, tuple[np.ndarray, ...], np.ndarray]:
    from models import get_workload

    workload = get_workload(spec["workload"])
    case = workload.case(spec["case"])
    inputs = workload.make_inputs(case, 0)
    return workload, case, inputs, workload.reference(case, inputs)


def _measure(run: Any, fetch: Any, workload: Any, case: Any, reference: np.ndarray) -> dict[str, Any]:
    verdict = verify(fetch(run()), reference, workload.reduction_length(case))
    if not verdict.passed:
        raise RuntimeError(f"deployed artifact gives a wrong result: {verdict.detail}")
    timing = summarize(repeat(run, RepeatPolicy()))
    return {"verification": {"error": verdict.error, "tolerance": verdict.tolerance, "passed": True},
            "timing": timing, "median_s": timing["median_s"], "gflops": workload.flops(case) / timing["median_s"] / 1e9}


def tvm_libraries() -> list[str]:
    try:
        maps = Path("/proc/self/maps").read_text().split()
    except OSError:
        return []
    return sorted({Path(p).name for p in maps if "/libtvm" in p})


def export(spec: dict[str, Any]) -> dict[str, Any]:
    """Build, verify and time in-process, then export the library to spec["path"]."""
    from backends.base import Task

    workload, case, inputs, reference = _workload_and_inputs(spec)
    path = Path(spec["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    task = Task(workload, case, spec["variant"], inputs, spec["threads"], workdir=path.parent,
                cache_dir=Path(spec["cache_dir"]))
    t0 = time.perf_counter()
    if spec["kind"] == "kernel":
        from backends.tvm.common import primfunc_runner
        from backends.tvm.metaschedule import compile_point

        ex, details = compile_point(task)
        run, fetch = primfunc_runner(ex, inputs, workload.output_shape(case))
        ex.export_library(str(path))
    else:
        from backends.tvm.relax import TvmBackend, to_numpy

        prepared = TvmBackend().prepare(task)  # exports workdir/tvm_module.so as its artifact_bytes side metric
        details, run, fetch = prepared.details, prepared.run, to_numpy
        os.replace(path.parent / "tvm_module.so", path)
    build_s = time.perf_counter() - t0
    details = {k: v for k, v in details.items() if k != "tir"}
    return {**_measure(run, fetch, workload, case, reference), "build_s": build_s, "bytes": path.stat().st_size,
            "details": details, "tvm_libraries": tvm_libraries()}


def load(spec: dict[str, Any]) -> dict[str, Any]:
    """Reload spec["path"] with whatever TVM library the environment selects; verify and time."""
    t0 = time.perf_counter()
    import tvm

    import_s = time.perf_counter() - t0
    workload, case, inputs, reference = _workload_and_inputs(spec)
    device = tvm.cpu()
    t0 = time.perf_counter()
    lib = tvm.runtime.load_module(spec["path"])
    args = [tvm.runtime.tensor(np.ascontiguousarray(a), device) for a in inputs]
    if spec["kind"] == "kernel":
        out = tvm.runtime.tensor(np.zeros(workload.output_shape(case), dtype=np.float32), device)
        main = lib["main"]

        def run() -> Any:
            main(*args, out)
            return out
    else:
        from tvm.runtime.vm import VirtualMachine

        main = VirtualMachine(lib, device)["main"]

        def run() -> Any:
            return main(*args)

    load_s = time.perf_counter() - t0

    def fetch(result: Any) -> np.ndarray:
        return (result if hasattr(result, "numpy") else result[0]).numpy()

    return {**_measure(run, fetch, workload, case, reference), "import_s": import_s, "load_s": load_s,
            "tvm_libraries": tvm_libraries()}


def run_fresh(mode: str, spec: dict[str, Any], env: dict[str, str], workdir: Path, timeout_s: float) -> dict[str, Any]:
    """Run `mode` in a fresh interpreter; returns its result or {"error": ...} (never raises for the child)."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path, out_path = workdir / f"{mode}.spec.json", workdir / f"{mode}.result.json"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    full_env = {**os.environ, **env,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run([sys.executable, "-m", "backends.tvm.deploy", mode, str(spec_path), str(out_path)],
                              cwd=REPO_ROOT, env=full_env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"error": f"{mode}: no result after {timeout_s:g} s"}
    if out_path.exists():
        return json.loads(out_path.read_text())
    tail = (done.stderr.strip().splitlines() or [""])[-1]
    return {"error": f"{mode} exited {done.returncode}: {tail[:300]}"}


def main(argv: list[str]) -> int:
    mode, spec_path, out_path = argv
    spec = json.loads(Path(spec_path).read_text())
    try:
        result = export(spec) if mode == "export" else load(spec)
    except Exception as exc:  # reported as a record field, not a crash of the caller
        result = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]}
    result["runtime_only_env"] = os.environ.get(RUNTIME_ENV, "")
    write_json_atomic(Path(out_path), result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
