"""The operator workloads written as Triton kernels; each launcher is named after its workload and takes and
returns torch tensors (inputs in the workload's order).

Imported only inside TritonBackend.prepare (and the tests), so importing triton at top level is fine here.
Inputs and outputs are in the tensors' own dtype (float32, float16 or bfloat16); loads are widened to float32 and
accumulation is float32 throughout. tl.dot on float32 uses input_precision="ieee" (TF32 would miss the float32
tolerance) unless a launcher is called with tf32=True, the suite's "tf32" precision.
Under TRITON_INTERPRET=1 the kernels run on CPU tensors through Triton's NumPy interpreter.
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch
import triton
import triton.language as tl

# Pin FMA contraction on (Triton 3.9's default, which 3.10 flips) so results do not change with the version; it is
# read when a kernel compiles, and setting it also silences the warning Triton 3.9 prints when it is unset.
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")

try:
    INTERPRET = bool(triton.knobs.runtime.interpret)
except AttributeError:  # a Triton without the knobs module (before 3.4) reads the variable itself
    INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


def _emulate_bf16_dot(x: torch.Tensor) -> bool:
    # Triton's interpreter runs tl.dot as np.matmul on the stored bits, and stores bfloat16 as uint16: it would
    # multiply bit patterns as integers. Widening the bfloat16 operands to float32 first gives exactly what a GPU's
    # bfloat16 MMA computes (products of 8-bit mantissas are exact in float32, accumulation is float32).
    return INTERPRET and x.dtype == torch.bfloat16


# --- matmul -----------------------------------------------------------------------------------------------------


def _mm_config(bm: int, bn: int, bk: int, warps: int, stages: int) -> triton.Config:
    return triton.Config({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": 8}, num_warps=warps,
                         num_stages=stages)


# A config needs stages x (BM + BN) x BK x element-size bytes of shared memory (~228 KB on H100): float32 tiles
# keep BLOCK_K at 32, and the BLOCK_K=64 configs at the end fit only 2-byte types (pruned for float32).
# The 16-row configs are for skinny (GEMV-like) shapes.
SHARED_MEMORY_BYTES = 228 * 1024
MATMUL_CONFIGS = [
    _mm_config(128, 256, 32, 8, 3),
    _mm_config(128, 128, 32, 8, 3),
    _mm_config(128, 64, 32, 4, 4),
    _mm_config(64, 128, 32, 4, 4),
    _mm_config(64, 64, 32, 4, 4),
    _mm_config(32, 64, 32, 2, 5),
    _mm_config(16, 128, 64, 4, 4),
    _mm_config(16, 64, 128, 4, 3),
    _mm_config(128, 256, 64, 8, 3),
    _mm_config(128, 128, 64, 8, 4),
]
# The interpreter runs each program in NumPy and its "benchmark" would time Python, so tuning there is both
# slow and meaningless: one small config (tl.dot needs every block dimension >= 16).
INTERPRET_MATMUL_CONFIGS = [_mm_config(32, 32, 32, 1, 1)]


def _prune_matmul_configs(configs: list[triton.Config], named_args: dict[str, Any], **_: Any) -> list[triton.Config]:
    """Drop tiles much taller/wider than the problem (e.g. M=1), which only add tuning time, and tiles whose
    pipeline stages would not fit in shared memory for this element size."""
    m_cap = max(16, triton.next_power_of_2(named_args["M"]))
    n_cap = max(16, triton.next_power_of_2(named_args["N"]))
    size = named_args["a_ptr"].element_size()
    fits = [c for c in configs if c.num_stages * (c.kwargs["BLOCK_M"] + c.kwargs["BLOCK_N"]) * c.kwargs["BLOCK_K"]
            * size <= SHARED_MEMORY_BYTES] or configs
    kept = [c for c in fits if c.kwargs["BLOCK_M"] <= m_cap and c.kwargs["BLOCK_N"] <= n_cap]
    return kept or fits


@triton.autotune(
    configs=INTERPRET_MATMUL_CONFIGS if INTERPRET else MATMUL_CONFIGS,
    key=["M", "N", "K"],
    prune_configs_by={"early_config_prune": _prune_matmul_configs},
)
@triton.jit
def _matmul_kernel(a_ptr, b_ptr, c_ptr, M, N, K, stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
                   BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
                   DOT_PRECISION: tl.constexpr, EMULATE_BF16_DOT: tl.constexpr):
    # Grouped ordering: GROUP_M row-blocks share each column-block of B while it is in L2.
    pid = tl.program_id(0)
    grid_m = tl.cdiv(M, BLOCK_M)
    grid_n = tl.cdiv(N, BLOCK_N)
    group_size = GROUP_M * grid_n
    first_m = (pid // group_size) * GROUP_M
    rows_in_group = min(grid_m - first_m, GROUP_M)
    pid_m = first_m + (pid % group_size) % rows_in_group
    pid_n = (pid % group_size) // rows_in_group

    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    a_ptrs = a_ptr + offs_m[:, None] * stride_am + offs_k[None, :] * stride_ak
    b_ptrs = b_ptr + offs_k[:, None] * stride_bk + offs_n[None, :] * stride_bn
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        # Zero padding past the ragged edges contributes nothing to the dot products.
        k_ok = (k0 + offs_k) < K
        a = tl.load(a_ptrs, mask=(offs_m[:, None] < M) & k_ok[None, :], other=0.0)
        b = tl.load(b_ptrs, mask=k_ok[:, None] & (offs_n[None, :] < N), other=0.0)
        if EMULATE_BF16_DOT:
            a = a.to(tl.float32)
            b = b.to(tl.float32)
        acc = tl.dot(a, b, acc, input_precision=DOT_PRECISION)
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk
    c_ptrs = c_ptr + offs_m[:, None] * stride_cm + offs_n[None, :] * stride_cn
    tl.store(c_ptrs, acc, mask=(offs_m[:, None] < M) & (offs_n[None, :] < N))


def _dot_precision(tf32: bool) -> str:
    return "tf32" if tf32 else "ieee"


def matmul(a: torch.Tensor, b: torch.Tensor, tf32: bool = False) -> torch.Tensor:
    (m, k), (k2, n) = a.shape, b.shape
    assert k == k2, f"inner dimensions differ: {a.shape} @ {b.shape}"
    c = torch.empty((m, n), device=a.device, dtype=a.dtype)

    def grid(meta: dict[str, Any]) -> tuple[int]:
        return (triton.cdiv(m, meta["BLOCK_M"]) * triton.cdiv(n, meta["BLOCK_N"]),)

    _matmul_kernel[grid](a, b, c, m, n, k, a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
                         DOT_PRECISION=_dot_precision(tf32), EMULATE_BF16_DOT=_emulate_bf16_dot(a))
    return c


def matmul_tuning() -> dict[str, Any]:
    """The config the autotuner chose on the last call and how many it timed (for the result's details)."""
    config = getattr(_matmul_kernel, "best_config", None)
    if config is None:
        return {}
    chosen = {**config.kwargs, "num_warps": config.num_warps, "num_stages": config.num_stages}
    # configs_timings exists only when more than one config survived pruning and was benchmarked.
    return {"autotune_config": chosen, "autotune_configs_timed": len(getattr(_matmul_kernel, "configs_timings", {}))}


# --- row-wise kernels: one program per row, the whole row in one block ------------------------------------------


def _row_warps(block: int) -> int:
    # Enough threads that each holds a handful of elements of the row.
    return 4 if block < 2048 else 8 if block < 8192 else 16


@triton.jit
def _softmax_kernel(x_ptr, y_ptr, C, stride_x, stride_y, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = cols < C
    x = tl.load(x_ptr + row * stride_x + cols, mask=mask, other=-float("inf")).to(tl.float32)
    # Subtracting the row max keeps exp() from overflowing; padded lanes give exp(-inf) = 0.
    e = tl.exp(x - tl.max(x, axis=0))
    tl.store(y_ptr + row * stride_y + cols, e / tl.sum(e, axis=0), mask=mask)


def softmax(x: torch.Tensor) -> torch.Tensor:
    rows, cols = x.shape
    x = x.contiguous()
    y = torch.empty_like(x)
    block = triton.next_power_of_2(cols)
    _softmax_kernel[(rows,)](x, y, cols, x.stride(0), y.stride(0), BLOCK=block, num_warps=_row_warps(block))
    return y


@triton.jit
def _layernorm_kernel(x_ptr, g_ptr, b_ptr, y_ptr, C, stride_x, stride_y, eps, BLOCK: tl.constexpr):
    row = tl.program_id(0)
    cols = tl.arange(0, BLOCK)
    mask = cols < C
    x = tl.load(x_ptr + row * stride_x + cols, mask=mask, other=0.0).to(tl.float32)
    mean = tl.sum(x, axis=0) / C
    # Two-pass variance (mean first) is exact enough where E[x^2] - E[x]^2 would cancel; padded lanes masked out.
    diff = tl.where(mask, x - mean, 0.0)
    rstd = 1.0 / tl.sqrt(tl.sum(diff * diff, axis=0) / C + eps)
    g = tl.load(g_ptr + cols, mask=mask, other=0.0).to(tl.float32)
    b = tl.load(b_ptr + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(y_ptr + row * stride_y + cols, diff * rstd * g + b, mask=mask)


def layernorm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    rows, cols = x.shape
    x = x.contiguous()
    y = torch.empty_like(x)
    block = triton.next_power_of_2(cols)
    _layernorm_kernel[(rows,)](x, gamma.contiguous(), beta.contiguous(), y, cols, x.stride(0), y.stride(0), eps,
                               BLOCK=block, num_warps=_row_warps(block))
    return y


# --- fused elementwise --------------------------------------------------------------------------------------------


@triton.jit
def _bias_add_relu_kernel(x_ptr, bias_ptr, res_ptr, y_ptr, total, N, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < total
    # Widened to float32 and rounded once at the store, as torch's elementwise kernels do for half types.
    x = tl.load(x_ptr + offs, mask=mask).to(tl.float32)
    bias = tl.load(bias_ptr + offs % N, mask=mask).to(tl.float32)
    res = tl.load(res_ptr + offs, mask=mask).to(tl.float32)
    tl.store(y_ptr + offs, tl.maximum(x + bias + res, 0.0), mask=mask)


def bias_add_relu(x: torch.Tensor, bias: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    # Flat indexing over contiguous [M, N]: the bias column of element i is i % N.
    x, bias, residual = x.contiguous(), bias.contiguous(), residual.contiguous()
    y = torch.empty_like(x)
    total, block = x.numel(), 1024
    _bias_add_relu_kernel[(triton.cdiv(total, block),)](x, bias, residual, y, total, x.shape[-1], BLOCK=block)
    return y


# --- attention ----------------------------------------------------------------------------------------------------


@triton.jit
def _attention_kernel(q_ptr, k_ptr, v_ptr, o_ptr, S, D, H, sq_b, sq_h, sq_s, sk_b, sk_h, sk_s, sv_b, sv_h, sv_s,
                      so_b, so_h, so_s, qk_scale, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                      BLOCK_D: tl.constexpr, DOT_PRECISION: tl.constexpr, EMULATE_BF16_DOT: tl.constexpr):
    # One program: BLOCK_M queries of one (batch, head); keys/values streamed in BLOCK_N blocks with an online
    # softmax (running max m_i and denominator l_i), so the S x S score matrix never exists.
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    b, h = bh // H, bh % H
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    d_ok = offs_d < D
    q_ptrs = q_ptr + b * sq_b + h * sq_h + offs_m[:, None] * sq_s + offs_d[None, :]
    q = tl.load(q_ptrs, mask=(offs_m[:, None] < S) & d_ok[None, :], other=0.0)
    if EMULATE_BF16_DOT:
        q = q.to(tl.float32)

    m_i = tl.full((BLOCK_M,), -float("inf"), dtype=tl.float32)
    l_i = tl.zeros((BLOCK_M,), dtype=tl.float32)
    acc = tl.zeros((BLOCK_M, BLOCK_D), dtype=tl.float32)
    for start in range(0, S, BLOCK_N):
        keys = start + offs_n
        k_ok = keys < S
        # K is loaded transposed ([D, BLOCK_N]) so the scores are a plain q @ kT.
        kt = tl.load(k_ptr + b * sk_b + h * sk_h + keys[None, :] * sk_s + offs_d[:, None],
                     mask=d_ok[:, None] & k_ok[None, :], other=0.0)
        if EMULATE_BF16_DOT:
            kt = kt.to(tl.float32)
        # qk_scale folds 1/sqrt(D) and log2(e) so the exponentials are exp2.
        scores = tl.dot(q, kt, input_precision=DOT_PRECISION) * qk_scale
        scores = tl.where(k_ok[None, :], scores, -float("inf"))
        m_new = tl.maximum(m_i, tl.max(scores, axis=1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(scores - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        v = tl.load(v_ptr + b * sv_b + h * sv_h + keys[:, None] * sv_s + offs_d[None, :],
                    mask=k_ok[:, None] & d_ok[None, :], other=0.0)
        # p is rounded to the inputs' type for the second product (a no-op for float32), as flash attention does.
        p_v = p.to(v.dtype)
        if EMULATE_BF16_DOT:
            p_v = p_v.to(tl.float32)
            v = v.to(tl.float32)
        acc = tl.dot(p_v, v, acc * alpha[:, None], input_precision=DOT_PRECISION)
        m_i = m_new
    o_ptrs = o_ptr + b * so_b + h * so_h + offs_m[:, None] * so_s + offs_d[None, :]
    tl.store(o_ptrs, acc / l_i[:, None], mask=(offs_m[:, None] < S) & d_ok[None, :])


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, tf32: bool = False) -> torch.Tensor:
    batch, heads, seq, dim = q.shape
    # The last dimension must be unit-stride (the kernel indexes it directly).
    q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
    o = torch.empty_like(q)
    block_d = max(16, triton.next_power_of_2(dim))  # tl.dot needs >= 16 along every axis
    # float32 tiles: 64x64 keeps q, k, v, acc within registers/shared memory for head dims up to 128.
    block_m = block_n = 32 if INTERPRET else 64
    qk_scale = 1.0 / math.sqrt(dim) * 1.4426950408889634  # log2(e)
    grid = (triton.cdiv(seq, block_m), batch * heads)
    _attention_kernel[grid](q, k, v, o, seq, dim, heads, *q.stride()[:3], *k.stride()[:3], *v.stride()[:3],
                            *o.stride()[:3], qk_scale, BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_D=block_d,
                            DOT_PRECISION=_dot_precision(tf32), EMULATE_BF16_DOT=_emulate_bf16_dot(q),
                            num_warps=4 if block_d <= 64 else 8)
    return o


# --- reduction ----------------------------------------------------------------------------------------------------


@triton.jit
def _reduce_sum_kernel(x_ptr, y_ptr, R, C, stride_x, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    # BLOCK_R rows per program (so short rows still fill a program); columns streamed in BLOCK_C chunks into a
    # per-lane float32 accumulator, summed across lanes once at the end.
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = tl.arange(0, BLOCK_C)
    acc = tl.zeros((BLOCK_R, BLOCK_C), dtype=tl.float32)
    for start in range(0, C, BLOCK_C):
        mask = (rows[:, None] < R) & ((start + cols)[None, :] < C)
        acc += tl.load(x_ptr + rows[:, None] * stride_x + (start + cols)[None, :], mask=mask, other=0.0).to(tl.float32)
    tl.store(y_ptr + rows, tl.sum(acc, axis=1), mask=rows < R)


def reduce_sum(x: torch.Tensor) -> torch.Tensor:
    rows, cols = x.shape
    x = x.contiguous()
    y = torch.empty((rows,), device=x.device, dtype=x.dtype)
    block_c = min(triton.next_power_of_2(cols), 1024)
    block_r = min(64, 2048 // block_c)  # ~2048 elements per tile
    _reduce_sum_kernel[(triton.cdiv(rows, block_r),)](x, y, rows, cols, x.stride(0), BLOCK_R=block_r,
                                                      BLOCK_C=block_c)
    return y

