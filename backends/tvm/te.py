"""Apache TVM tensor expressions + hand-written `s_tir.Schedule`s: the schedule ladder and its sweeps.

Variants (each a separate, verified, timed cell; `variants_for` says which apply to a case):
- the ladder steps of `te_schedules` (naive ... cache), cumulative, on the ladder cases;
- "tile16" ... "tile128": the full matmul schedule with that block size (tile-size sweep, matmul 1024);
- "best-serial" / "best-parallel": the full matmul schedule without / with the parallel loop, on every
  square size of the schedules suite (64 ... 2048): where threads start to pay.
Every cell's scheduled TensorIR (the loop nest with its parallel/vectorized/unrolled annotations) and the
schedule trace go into `details` for the report.
"""

from __future__ import annotations

import time
from typing import Any

from backends.base import Backend, Capabilities, CellRequest, Prepared, Skip, Task, unsupported
from backends.schedule_text import truncate
from backends.tvm import te_schedules as ladder
from backends.tvm.common import host_target, primfunc_runner
from models.workload import Case, Workload

LADDER_CASES = {
    "matmul": ("512x512x512", "1024x1024x1024", "2048x2048x2048"),
    "conv2d": ("1x3x224x224-o64-s1", "1x64x56x56-o64-s1"),
}
TILE_SWEEP = {f"tile{t}": t for t in (16, 32, 64, 128)}
TILE_SWEEP_CASE = "1024x1024x1024"
SIZE_SWEEP = {"best-serial": False, "best-parallel": True}  # variant -> parallel loop on
MATMUL_ONLY = (*TILE_SWEEP, *SIZE_SWEEP, *(s for s in ladder.MATMUL_STEPS if s not in ladder.CONV_STEPS))


class TvmTeBackend(Backend):
    name = "tvm-te"
    description = "Apache TVM tensor expressions with hand-written s_tir schedules (the schedule ladder)"
    variants = (*ladder.MATMUL_STEPS, *TILE_SWEEP, *SIZE_SWEEP)
    capabilities = Capabilities(suites=("schedules",))
    modules = ("tvm",)
    packages = ("apache-tvm", "apache-tvm-ffi")
    thread_knob = "TVM_NUM_THREADS=n (runtime thread pool used by parallel loops) + target num-cores=n"

    def thread_env(self, threads: int) -> dict[str, str]:
        return {"TVM_NUM_THREADS": str(threads)}

    def variants_for(self, workload: Workload, case: Case) -> tuple[str, ...]:
        if workload.name == "conv2d":
            return ladder.CONV_STEPS
        if workload.name != "matmul":
            return self.variants  # recorded as unsupported, with the reason
        found: tuple[str, ...] = ladder.MATMUL_STEPS if case.label in LADDER_CASES["matmul"] else ()
        if case.label == TILE_SWEEP_CASE:
            found += tuple(TILE_SWEEP)
        return (*found, *SIZE_SWEEP)

    def skip(self, request: CellRequest) -> Skip | None:
        return super().skip(request) or unsupported(_ladder_refusal(request.workload.name, request.variant))

    def prepare(self, task: Task) -> Prepared:
        import tvm

        t0 = time.perf_counter()
        sch, settings = build_schedule(task.workload.name, task.case, task.variant)
        schedule_s = time.perf_counter() - t0
        target, spec = host_target(task.threads)
        t0 = time.perf_counter()
        ex = tvm.compile(sch.mod, target)
        details: dict[str, Any] = {
            **settings,
            "schedule_s": schedule_s,
            "build_s": time.perf_counter() - t0,
            "target": spec,
            "tvm": tvm.__version__,
            "tir": truncate(sch.mod.script()),
            "trace": truncate(str(sch.trace)),
        }
        run, fetch = primfunc_runner(ex, task.inputs, task.workload.output_shape(task.case))
        return Prepared(run=run, fetch=fetch, details=details)


def _ladder_refusal(workload: str, variant: str) -> str | None:
    if workload not in LADDER_CASES:
        return "the schedule ladder is written for matmul and conv2d only"
    if workload == "conv2d" and variant in MATMUL_ONLY:
        return f"{variant!r} is a matmul schedule (conv2d ladder: {', '.join(ladder.CONV_STEPS)})"
    return None


def build_schedule(workload: str, case: Case, variant: str) -> tuple[Any, dict[str, Any]]:
    """The `s_tir.Schedule` of a variant and the settings it used (ladder step, tiles, parallel)."""
    if workload == "conv2d":
        dims = case.as_dict()
        ow = (dims["w"] + 2 * dims["pad"] - dims["kw"]) // dims["stride"] + 1
        tiles = {"o_tile": ladder.fit(ladder.CONV_O_TILE, dims["o"]), "x_tile": ladder.fit(ladder.CONV_X_TILE, ow)}
        return ladder.conv2d(dims, variant), {"step": variant, "ladder": list(ladder.CONV_STEPS), **tiles}
    m, k, n = case["m"], case["k"], case["n"]
    step, tile, parallel = variant, ladder.MATMUL_TILE, True
    if variant in TILE_SWEEP:
        step, tile = "cache", TILE_SWEEP[variant]
    elif variant in SIZE_SWEEP:
        step, parallel = "cache", SIZE_SWEEP[variant]
    sch = ladder.matmul(m, n, k, step, tile=tile, parallel=parallel)
    settings = {"step": step, "ladder": list(ladder.MATMUL_STEPS), "parallel": parallel,
                "tile_m": ladder.fit(tile, m), "tile_n": ladder.fit(tile, n), "k_chunk": ladder.fit(ladder.K_CHUNK, k)}
    return sch, settings
