"""The GPU's roofline: peak FLOP/s per precision and memory bandwidth, measured by calibration kernels and set
beside the data sheet.

Measured (in the manifest's `gpu.calibration`, for cuda runs):
- matmul: torch.mm of two 8192 x 8192 matrices in each precision (cuBLAS, tensor cores for tf32/float16/bfloat16;
  plain float32 runs on the CUDA cores), best of 10 after 3 warm-ups, 2 n^3 FLOPs per product;
- copy: a 2 GiB device-to-device copy (dst.copy_(src)), best of 10, counting 2 x 2 GiB moved (read + write).
The best, not the median: a calibration estimates what the hardware can reach.

Data-sheet figures are dense (NVIDIA lists tensor-core FLOP/s with 2:4 structured sparsity; these are half
those), at boost clock:
- H100 SXM5 80 GB (NVIDIA H100 Tensor Core GPU datasheet): FP32 67, TF32 494.5, FP16/BF16 989.5 TFLOP/s;
  HBM3 3.35 TB/s.
- H100 PCIe 80 GB (same datasheet): FP32 51, TF32 378, FP16/BF16 756.5 TFLOP/s; HBM2e 2.0 TB/s.
- H200 SXM 141 GB (NVIDIA H200 datasheet): the H100 SXM's compute; HBM3e 4.8 TB/s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backends.precision import PRECISIONS

MATMUL_N = 8192
COPY_BYTES = 2 * 2**30
WARMUP, REPS = 3, 10

DATASHEET_SOURCE = "NVIDIA H100 Tensor Core GPU datasheet; NVIDIA H200 Tensor Core GPU datasheet (dense figures)"
DATASHEETS: dict[str, dict[str, Any]] = {
    "H100 SXM": {"tflops": {"float32": 67.0, "tf32": 494.5, "float16": 989.5, "bfloat16": 989.5},
                 "memory_gbps": 3350.0},
    "H100 PCIe": {"tflops": {"float32": 51.0, "tf32": 378.0, "float16": 756.5, "bfloat16": 756.5},
                  "memory_gbps": 2000.0},
    "H200 SXM": {"tflops": {"float32": 67.0, "tf32": 494.5, "float16": 989.5, "bfloat16": 989.5},
                 "memory_gbps": 4800.0},
}


def datasheet_board(gpu_name: str) -> str | None:
    """The data-sheet entry for a device name as torch or nvidia-smi report it (None when there is none)."""
    name = gpu_name.upper()
    if "NVL" in name:
        return None  # the NVL boards have their own (lower-clocked) figures, not tabulated here
    if "H200" in name:
        return "H200 SXM"
    if "H100" in name:
        # "NVIDIA H100 80GB HBM3" is the SXM5 board; the PCIe board says so in its name.
        return "H100 PCIe" if "PCIE" in name else "H100 SXM"
    return None


def best_seconds(torch: Any, fn: Callable[[], Any], warmup: int = WARMUP, reps: int = REPS) -> float:
    """Shortest of `reps` runs of fn on the GPU's clock (CUDA events), after `warmup` runs."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return min(times)


def measure_matmul(torch: Any, precision: str, n: int = MATMUL_N) -> dict[str, Any]:
    from backends.precision import torch_dtype

    tf32 = PRECISIONS[precision].tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    dtype = torch_dtype(precision)
    a = torch.randn(n, n, device="cuda", dtype=dtype)
    b = torch.randn(n, n, device="cuda", dtype=dtype)
    c = torch.empty(n, n, device="cuda", dtype=dtype)
    seconds = best_seconds(torch, lambda: torch.mm(a, b, out=c))
    return {"tflops": 2.0 * n**3 / seconds / 1e12, "n": n, "best_s": seconds}


def measure_copy(torch: Any, nbytes: int = COPY_BYTES) -> dict[str, Any]:
    src = torch.ones(nbytes // 4, device="cuda", dtype=torch.int32)
    dst = torch.empty_like(src)
    seconds = best_seconds(torch, lambda: dst.copy_(src))
    return {"gbps": 2.0 * nbytes / seconds / 1e9, "bytes_each_way": nbytes, "best_s": seconds}


def compare(measured: dict[str, Any], gpu_name: str) -> dict[str, Any]:
    """The data-sheet figures for this GPU and the measured fraction of each."""
    board = datasheet_board(gpu_name)
    if board is None:
        return {"datasheet": None, "note": f"no data-sheet entry for {gpu_name!r}"}
    sheet = DATASHEETS[board]
    fractions = {p: measured["matmul"][p]["tflops"] / sheet["tflops"][p]
                 for p in sheet["tflops"] if "tflops" in measured["matmul"].get(p, {})}
    if "gbps" in measured.get("copy", {}):
        fractions["memory"] = measured["copy"]["gbps"] / sheet["memory_gbps"]
    return {"datasheet": {"board": board, **sheet, "source": DATASHEET_SOURCE}, "fraction_of_datasheet": fractions}


def calibrate(torch: Any) -> dict[str, Any]:
    """Every measurement on device 0; a failing one is recorded with its error instead of stopping the others."""
    matmul: dict[str, Any] = {}
    for precision in PRECISIONS:
        try:
            matmul[precision] = measure_matmul(torch, precision)
        except Exception as exc:
            matmul[precision] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        torch.cuda.empty_cache()  # the previous operands are garbage once measure_matmul returned
    try:
        copy = measure_copy(torch)
    except Exception as exc:
        copy = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    measured = {"matmul": matmul, "copy": copy}
    return {**measured, **compare(measured, torch.cuda.get_device_name(0))}


def roofline(flops: float, bytes_moved: float, seconds: float, precision: str, calibration: dict[str, Any],
             source: str = "measured") -> dict[str, Any]:
    """Where one measurement sits under the roofline: attainable = min(peak FLOP/s, bandwidth x intensity).

    `source` picks the peaks: "measured" (the calibration kernels) or "datasheet".
    """
    if source == "datasheet":
        sheet = calibration["datasheet"]
        peak, bandwidth = sheet["tflops"][precision] * 1e12, sheet["memory_gbps"] * 1e9
    else:
        peak, bandwidth = calibration["matmul"][precision]["tflops"] * 1e12, calibration["copy"]["gbps"] * 1e9
    intensity = flops / bytes_moved
    attainable = min(peak, bandwidth * intensity)
    achieved = flops / seconds
    return {"intensity_flop_per_byte": intensity, "attainable_tflops": attainable / 1e12,
            "achieved_tflops": achieved / 1e12, "fraction_of_attainable": achieved / attainable,
            "bound": "compute" if peak <= bandwidth * intensity else "memory", "peaks": source}
