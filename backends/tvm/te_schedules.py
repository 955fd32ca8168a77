"""The schedule ladder: tensor expressions (what to compute) and cumulative `s_tir.Schedule` steps (how).

Each function builds the TE definition, turns it into a TensorIR PrimFunc and applies the ladder's
transformations up to `step`, in order; a step never undoes an earlier one, so the timing difference between
two consecutive steps is the effect of one idea. The steps follow TVM's "How to optimize GEMM on CPU":

- naive:     the loop nest TE gives (matmul i, j, k; conv n, o, y, x, rc, ry, rx), compiled as is
- tile:      split the output loops into tile x tile blocks and the reduction into chunks; the loop ORDER is
             unchanged, so this step alone should change nothing (a split is only a renaming)
- reorder:   iterate block by block: matmul (io, jo, ko, ii, ki, ji), conv (n, fo, y, xo, rc, fi, ry, rx, xi):
             the short reduction chunk (ki; the 3 x 3 taps) moves inside the tile rows, so a row of the output
             tile stays in registers across it, and the innermost loop walks memory with unit stride
             (LLVM may auto-vectorise it already here)
- vectorize: the zero-initialisation is split out of the reduction, the innermost loop becomes SIMD
- parallel:  the outermost block loop runs on the thread pool
- unroll:    the short reduction chunk is unrolled (fewer loop branches, more independent FMAs in flight)
- pack:      (matmul) B is repacked into [N/tile, K, tile] so that the inner tile reads it contiguously
- cache:     the output tile accumulates in a small buffer that stays in L1, written back once per tile
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MATMUL_STEPS = ("naive", "tile", "reorder", "vectorize", "parallel", "unroll", "pack", "cache")
CONV_STEPS = ("naive", "tile", "reorder", "vectorize", "parallel", "unroll", "cache")
MATMUL_TILE = 32  # the tutorial's block size, and the ladder's; the sweep varies it
K_CHUNK = 4  # reduction steps unrolled together
# Conv output tile: 8 channels x (up to) 16 columns, i.e. 8 vector accumulators, each input vector reused 8 times.
# Measured on the study's two layers (single thread, cache step): 8 x 16 reached 95-100 GFLOP/s, 16 x 32 only
# 17-77 (the accumulators no longer fit the 32 vector registers and spill).
CONV_O_TILE = 8
CONV_X_TILE = 16


def fit(tile: int, extent: int) -> int:
    """The largest divisor of `extent` not above `tile`: tiles that divide the loop leave no guard `if`
    in the vectorised loop (a guarded loop is scalarised, and the step would measure the guard)."""
    return max(d for d in range(1, min(tile, extent) + 1) if extent % d == 0)


@dataclass(frozen=True)
class Level:
    """Which ladder steps are on, from the step's position in its ladder (and the sweeps' switches)."""

    steps: tuple[str, ...]
    upto: str
    parallel_on: bool = True

    def __post_init__(self) -> None:
        if self.upto not in self.steps:
            raise ValueError(f"unknown ladder step {self.upto!r} (valid: {', '.join(self.steps)})")

    def has(self, step: str) -> bool:
        if step not in self.steps:
            return False
        if step == "parallel" and not self.parallel_on:
            return False
        return self.steps.index(step) <= self.steps.index(self.upto)


def matmul(m: int, n: int, k: int, upto: str, tile: int = MATMUL_TILE, parallel: bool = True) -> Any:
    """C[m, n] = A[m, k] @ B[k, n] scheduled up to ladder step `upto`; returns the `s_tir.Schedule`."""
    from tvm import s_tir, te

    level = Level(MATMUL_STEPS, upto, parallel)
    tm, tn = fit(tile, m), fit(tile, n)
    a = te.placeholder((m, k), name="A")
    b = te.placeholder((k, n), name="B")
    r = te.reduce_axis((0, k), name="k")
    if level.has("pack"):
        # Column blocks of B laid out one after another: [N/tn, K, tn], so a tile row is one contiguous read.
        packed = te.compute((n // tn, k, tn), lambda x, y, z: b[y, x * tn + z], name="B_pack")
        c = te.compute((m, n), lambda i, j: te.sum(a[i, r] * packed[j // tn, r, j % tn], axis=r), name="C")
    else:
        c = te.compute((m, n), lambda i, j: te.sum(a[i, r] * b[r, j], axis=r), name="C")
    sch = s_tir.Schedule(te.create_prim_func([a, b, c]))
    if not level.has("tile"):
        return sch

    block = sch.get_sblock("C")
    i, j, kk = sch.get_loops(block)
    io, ii = sch.split(i, [None, tm])
    jo, ji = sch.split(j, [None, tn])
    ko, ki = sch.split(kk, [None, fit(K_CHUNK, k)])
    if not level.has("reorder"):
        return sch
    sch.reorder(io, jo, ko, ii, ki, ji)
    if level.has("cache"):
        # Accumulate the tile x tile block in its own buffer (compacted to the tile), copied to C once.
        write_back = sch.cache_write(block, 0, "global")
        sch.reverse_compute_at(write_back, jo)
        if level.has("vectorize"):
            sch.vectorize(sch.get_loops(write_back)[-1])
    if level.has("vectorize"):
        sch.vectorize(ji)
    if level.has("parallel"):
        sch.parallel(io)
    if level.has("unroll"):
        sch.unroll(ki)
    if level.has("vectorize"):
        # Last: loop annotations check that the block below is still a reduction (with its init).
        init = sch.decompose_reduction(block, ko)
        sch.vectorize(sch.get_loops(init)[-1])
    if level.has("pack"):
        pack = sch.get_sblock("B_pack")
        x, _, z = sch.get_loops(pack)
        sch.vectorize(z)
        if level.parallel_on:
            sch.parallel(x)
    return sch


def conv2d(shape: dict[str, int], upto: str) -> Any:
    """NCHW x OIHW convolution (zero padding, stride) scheduled up to `upto`; returns the `s_tir.Schedule`.

    `shape` holds n, c, h, w, o, kh, kw, stride, pad (a conv2d case's dims).
    """
    from tvm import s_tir, te

    level = Level(CONV_STEPS, upto)
    n, c, h, w, o = (shape[key] for key in ("n", "c", "h", "w", "o"))
    kh, kw, stride, pad = shape["kh"], shape["kw"], shape["stride"], shape["pad"]
    oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
    x = te.placeholder((n, c, h, w), name="X")
    weight = te.placeholder((o, c, kh, kw), name="W")
    padded = te.compute(
        (n, c, h + 2 * pad, w + 2 * pad),
        lambda b, ch, y, xx: te.if_then_else(
            te.all(y >= pad, y < h + pad, xx >= pad, xx < w + pad), x[b, ch, y - pad, xx - pad], 0.0),
        name="pad",
    )
    rc, ry, rx = te.reduce_axis((0, c), "rc"), te.reduce_axis((0, kh), "ry"), te.reduce_axis((0, kw), "rx")
    out = te.compute(
        (n, o, oh, ow),
        lambda b, f, y, xx: te.sum(padded[b, rc, y * stride + ry, xx * stride + rx] * weight[f, rc, ry, rx],
                                   axis=[rc, ry, rx]),
        name="conv",
    )
    sch = s_tir.Schedule(te.create_prim_func([x, weight, out]))
    if not level.has("tile"):
        return sch

    block = sch.get_sblock("conv")
    b, f, y, xx, kc, ky, kx = sch.get_loops(block)
    fo, fi = sch.split(f, [None, fit(CONV_O_TILE, o)])
    xo, xi = sch.split(xx, [None, fit(CONV_X_TILE, ow)])
    if not level.has("reorder"):
        return sch
    # Per (channel block, row, column block) and input channel: each output channel of the tile accumulates
    # its 3 x 3 taps in a vector register (ry, rx inside fi, like ki inside ii in the matmul).
    sch.reorder(b, fo, y, xo, kc, fi, ky, kx, xi)
    if level.has("cache"):
        write_back = sch.cache_write(block, 0, "global")
        sch.reverse_compute_at(write_back, xo)
        if level.has("vectorize"):
            sch.vectorize(sch.get_loops(write_back)[-1])
    if level.has("vectorize"):
        sch.vectorize(xi)
    if level.has("parallel"):
        sch.parallel(sch.fuse(b, fo, y))
        pad_loops = sch.get_loops(sch.get_sblock("pad"))
        sch.parallel(sch.fuse(*pad_loops[:3]))
    if level.has("unroll"):
        sch.unroll(kx)
        sch.unroll(ky)
    if level.has("vectorize"):
        init = sch.decompose_reduction(block, kc)
        sch.vectorize(sch.get_loops(init)[-1])
    return sch
