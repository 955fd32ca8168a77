"""Halide: matmul and conv2d as Halide Funcs, with a hand schedule or one of Halide's three autoschedulers.

Halide separates the algorithm from the schedule as TVM does, and shipped autoschedulers first:
Mullapudi2016 (greedy grouping and tiling by an analytic cost), Li2018 (gradient-style greedy, made for
differentiable pipelines) and Adams2019 (beam search guided by a learned cost model). Variant "hand" is
the schedule Halide's own matrix-multiplication performance test uses (register-blocked tiles, vectorised
and unrolled); the other variants throw the hand schedule away and let the autoscheduler write one, timed
as `autoschedule_s`. The schedule text and the lowered loop nest go into `details`.

Layouts: Halide indexes innermost dimension first, so NumPy's row-major A[i, k] is A(k, i) here.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from backends.base import Backend, Capabilities, CellRequest, Prepared, Skip, Task, Unsupported, unsupported
from backends.schedule_text import truncate
from models.workload import Case, Workload

AUTOSCHEDULERS = {"adams2019": "Adams2019", "li2018": "Li2018", "mullapudi2016": "Mullapudi2016"}
# Cases the schedules suite runs Halide on (autoscheduling a 64x64 matmul teaches nothing).
CASES = {
    "matmul": ("512x512x512", "1024x1024x1024", "2048x2048x2048"),
    "conv2d": ("1x3x224x224-o64-s1", "1x64x56x56-o64-s1"),
}


class HalideBackend(Backend):
    name = "halide"
    description = "Halide (JIT, LLVM): hand schedule and the Adams2019 / Li2018 / Mullapudi2016 autoschedulers"
    variants = ("hand", *AUTOSCHEDULERS)
    capabilities = Capabilities(suites=("schedules",))
    modules = ("halide",)
    packages = ("halide",)
    thread_knob = "HL_NUM_THREADS=n (Halide runtime thread pool) + autoscheduler parallelism=n"

    def thread_env(self, threads: int) -> dict[str, str]:
        return {"HL_NUM_THREADS": str(threads)}

    def variants_for(self, workload: Workload, case: Case) -> tuple[str, ...]:
        if workload.name in CASES and case.label not in CASES[workload.name]:
            return ()
        return self.variants

    def skip(self, request: CellRequest) -> Skip | None:
        return super().skip(request) or unsupported(
            "mlcompare's Halide pipelines are matmul and conv2d only" if request.workload.name not in CASES else None)

    def prepare(self, task: Task) -> Prepared:
        import halide as hl

        target = hl.get_host_target()
        build = matmul_pipeline if task.workload.name == "matmul" else conv2d_pipeline
        pipeline, params, hand_schedule = build(task.case, target)
        details: dict[str, Any] = {"target": str(target), "schedule_kind": task.variant}
        if task.variant == "hand":
            hand_schedule()
            details["autoschedule_s"] = 0.0
        else:
            details.update(autoschedule(pipeline, target, AUTOSCHEDULERS[task.variant], task.threads))
        t0 = time.perf_counter()
        kernel = pipeline.compile_to_callable(params, target)
        details["jit_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        details["stmt"] = lowered_stmt(pipeline, params, target)
        details["stmt_s"] = time.perf_counter() - t0  # inside compile_s; only for the report, subtract to compare

        inputs = [hl.Buffer(np.ascontiguousarray(a)) for a in task.inputs]  # reversed axes: innermost first
        out_array = np.zeros(task.workload.output_shape(task.case), dtype=np.float32)
        out = hl.Buffer(out_array)

        def run() -> np.ndarray:
            kernel(*inputs, out)
            return out_array

        return Prepared(run=run, fetch=lambda result: result.copy(), details=details)


def autoschedule(pipeline: Any, target: Any, name: str, threads: int) -> dict[str, Any]:
    """Load the autoscheduler plugin shipped in the wheel and let it schedule `pipeline` (timed)."""
    import halide as hl

    plugin = Path(hl.__file__).parent / "lib64" / f"libautoschedule_{name.lower()}.so"
    if not plugin.is_file():
        raise Unsupported(f"this halide wheel has no {name} autoscheduler ({plugin.name} missing)")
    hl.load_plugin(str(plugin))  # idempotent: the plugin registers itself once per process
    params = {"parallelism": str(threads)}
    t0 = time.perf_counter()
    result = pipeline.apply_autoscheduler(target, hl.AutoschedulerParams(name, params))
    return {"autoschedule_s": time.perf_counter() - t0, "autoscheduler": name, "autoscheduler_params": params,
            "schedule": truncate(result.schedule_source)}


def lowered_stmt(pipeline: Any, params: list[Any], target: Any) -> str:
    """Halide's lowered statement (the loop nest after scheduling), as text."""
    import halide as hl

    with tempfile.TemporaryDirectory(prefix="mlcompare-halide-") as tmp:
        path = Path(tmp) / "pipeline.stmt"
        pipeline.compile_to_lowered_stmt(str(path), params, hl.StmtOutputFormat.Text, target)
        return truncate(path.read_text())


def matmul_pipeline(case: Case, target: Any) -> tuple[Any, list[Any], Any]:
    """C(j, i) = sum_k A(k, i) * B(j, k): the pipeline, its arguments and a function applying the hand schedule."""
    import halide as hl

    m, k, n = case["m"], case["k"], case["n"]
    a, b = hl.ImageParam(hl.Float(32), 2, "A"), hl.ImageParam(hl.Float(32), 2, "B")
    j, i = hl.Var("j"), hl.Var("i")
    r = hl.RDom([(0, k)], "r")
    prod, out = hl.Func("prod"), hl.Func("C")
    prod[j, i] = hl.f32(0)
    prod[j, i] += a[r.x, i] * b[j, r.x]
    out[j, i] = prod[j, i]
    a.set_estimates([(0, k), (0, m)])
    b.set_estimates([(0, n), (0, k)])
    out.set_estimates([(0, n), (0, m)])
    pipeline = hl.Pipeline(out)
    vec = target.natural_vector_size(hl.Float(32))

    def hand() -> None:
        # After test/performance/matrix_multiplication.cpp: per thread a tile of C, split into 8-row strips
        # whose 3 vectors x 8 rows of accumulators stay in registers over the whole reduction.
        # Shapes are fixed, so every split has a constant extent (edge tiles overlap: ShiftInwards).
        tj, ti = min(3 * vec, n), min(32, m)
        # A vector that divides the tile: prod is computed per tile, and a vector overrunning it would read past B
        # (tiny shapes on a CPU of 8-float vectors: a 12-wide tile).
        v, strip = (vec if tj % vec == 0 else math.gcd(tj, vec)), min(8, ti)
        ji, ii, iii, ij = hl.Var("ji"), hl.Var("ii"), hl.Var("iii"), hl.Var("ij")
        out.bound(j, 0, n).bound(i, 0, m)
        out.tile(j, i, ji, ii, tj, ti).fuse(j, i, ij).parallel(ij)
        out.split(ii, ii, iii, strip).vectorize(ji, v).unroll(iii)
        prod.compute_at(out, ii).vectorize(j, v).unroll(j).unroll(i)
        prod.update().reorder(j, i, r.x).vectorize(j, v).unroll(j).unroll(i)

    return pipeline, [a, b], hand


def conv2d_pipeline(case: Case, target: Any) -> tuple[Any, list[Any], Any]:
    """out(x, y, o, n) = sum_{c, ry, rx} X(x*s + rx - p, y*s + ry - p, c, n) * W(rx, ry, c, o), zero padding."""
    import halide as hl

    nb, c, h, w, o = (case[key] for key in ("n", "c", "h", "w", "o"))
    kh, kw, stride, pad = case["kh"], case["kw"], case["stride"], case["pad"]
    oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
    x_in, weight = hl.ImageParam(hl.Float(32), 4, "X"), hl.ImageParam(hl.Float(32), 4, "W")
    x, y, f, b = hl.Var("x"), hl.Var("y"), hl.Var("f"), hl.Var("b")
    padded = hl.Func("padded")
    padded[x, y, f, b] = hl.BoundaryConditions.constant_exterior(x_in, 0.0, [(0, w), (0, h)])[x - pad, y - pad, f, b]
    r = hl.RDom([(0, kw), (0, kh), (0, c)], "r")
    acc, out = hl.Func("acc"), hl.Func("conv")
    acc[x, y, f, b] = hl.f32(0)
    acc[x, y, f, b] += padded[x * stride + r.x, y * stride + r.y, r.z, b] * weight[r.x, r.y, r.z, f]
    out[x, y, f, b] = acc[x, y, f, b]
    x_in.set_estimates([(0, w), (0, h), (0, c), (0, nb)])
    weight.set_estimates([(0, kw), (0, kh), (0, c), (0, o)])
    out.set_estimates([(0, ow), (0, oh), (0, o), (0, nb)])
    pipeline = hl.Pipeline(out)
    vec = target.natural_vector_size(hl.Float(32))

    def hand() -> None:
        # The zero-padded input once per image (no bounds tests in the inner loop), then per output row
        # a tile of 2 vectors of columns x 4 output channels accumulated in registers over the reduction.
        xs, fs = min(2 * vec, ow), min(4, o)
        v = min(vec, xs)
        xo, xi, fo, fi, row = hl.Var("xo"), hl.Var("xi"), hl.Var("fo"), hl.Var("fi"), hl.Var("row")
        out.bound(x, 0, ow).bound(y, 0, oh).bound(f, 0, o).bound(b, 0, nb)
        padded.compute_at(out, b).parallel(f).vectorize(x, v)
        out.split(x, xo, xi, xs).split(f, fo, fi, fs).reorder(xi, fi, xo, y, fo, b)
        out.fuse(y, fo, row).parallel(row).vectorize(xi, v).unroll(fi)
        acc.compute_at(out, xo).vectorize(x, v).unroll(f)
        acc.update().reorder(x, f, r.x, r.y, r.z).vectorize(x, v).unroll(f).unroll(r.x)

    return pipeline, [x_in, weight], hand
