"""What the manifest of a cuda run records about the GPU: nvidia-smi's view (driver, clocks, power), the CUDA
driver's version, torch's device properties (SM count, memory, L2, compute capability) and the roofline calibration.

The runner never initialises CUDA itself (its CUDA context would hold GPU memory for the whole run): torch's part
and the calibration run in a child process, `python -m suites.gpu_info [--calibrate]`, which prints one JSON line.
"""

from __future__ import annotations

import ctypes
import json
import re
import shutil
import subprocess
import sys
from typing import Any

from suites.machine import REPO_ROOT

NVIDIA_SMI_FIELDS = ("name", "driver_version", "memory.total", "compute_cap", "clocks.current.sm",
                     "clocks.current.memory", "clocks.max.sm", "clocks.max.memory", "clocks.applications.graphics",
                     "power.limit", "persistence_mode", "pstate", "temperature.gpu", "pci.bus_id")
DEVICE_PROPERTIES = ("name", "major", "minor", "multi_processor_count", "total_memory", "L2_cache_size",
                     "clock_rate", "memory_clock_rate", "memory_bus_width", "shared_memory_per_multiprocessor",
                     "warp_size", "uuid")
CHILD_TIMEOUT_S = 600.0


def parse_nvidia_smi(fields: tuple[str, ...], text: str) -> list[dict[str, str | None]]:
    """Rows of `nvidia-smi --query-gpu=... --format=csv,noheader,nounits`, one per GPU ("[N/A]" becomes None)."""
    rows = []
    for line in text.strip().splitlines():
        values = [v.strip() for v in line.split(",")]
        if len(values) != len(fields):
            continue
        rows.append({f: (None if v.startswith("[") or v in ("N/A", "") else v) for f, v in zip(fields, values,
                                                                                              strict=True)})
    return rows


def _smi(fields: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"],
                          capture_output=True, text=True, timeout=30, check=False)


def nvidia_smi() -> list[dict[str, str | None]] | str:
    """Per-GPU nvidia-smi fields, or why there are none. A field this driver does not know is queried alone and
    left out, rather than failing the whole query."""
    if shutil.which("nvidia-smi") is None:
        return "nvidia-smi not found"
    try:
        done = _smi(NVIDIA_SMI_FIELDS)
        if done.returncode == 0:
            return parse_nvidia_smi(NVIDIA_SMI_FIELDS, done.stdout)
        known = tuple(f for f in NVIDIA_SMI_FIELDS if _smi((f,)).returncode == 0)
        if not known:
            return f"nvidia-smi failed: {(done.stderr or done.stdout).strip()[:300]}"
        return parse_nvidia_smi(known, _smi(known).stdout)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"nvidia-smi failed: {exc}"


def cuda_driver_version() -> str | None:
    """The CUDA version the installed driver supports (cuDriverGetVersion; needs no CUDA context)."""
    try:
        libcuda = ctypes.CDLL("libcuda.so.1")
        version = ctypes.c_int(0)
        if libcuda.cuDriverGetVersion(ctypes.byref(version)) != 0:
            return None
    except (OSError, AttributeError):
        return None
    return f"{version.value // 1000}.{version.value % 1000 // 10}"


def gpu_slug() -> str | None:
    """A results directory name for the GPU (e.g. "nvidia-h100-80gb-hbm3"), None without nvidia-smi."""
    rows = nvidia_smi()
    if isinstance(rows, str) or not rows or not rows[0].get("name"):
        return None
    words = re.findall(r"[a-z0-9]+", str(rows[0]["name"]).lower())
    return "-".join(words + ([f"x{len(rows)}"] if len(rows) > 1 else []))


def torch_view(calibrate: bool) -> dict[str, Any]:
    """Run in the child: torch's view of every CUDA device, and the calibration of device 0 if asked."""
    import torch

    if not torch.cuda.is_available():
        return {"error": "torch.cuda.is_available() is False"}
    devices = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        devices.append({name: getattr(props, name) for name in DEVICE_PROPERTIES if hasattr(props, name)})
    for device in devices:
        device["uuid"] = str(device.get("uuid", ""))
    view: dict[str, Any] = {"devices": devices, "torch": torch.__version__, "torch_cuda_runtime": torch.version.cuda,
                            "cudnn": torch.backends.cudnn.version()}
    if calibrate:
        from suites.gpu_calibration import calibrate as run_calibration

        view["calibration"] = run_calibration(torch)
    return view


def describe_gpu(calibrate: bool = True, timeout_s: float = CHILD_TIMEOUT_S) -> dict[str, Any]:
    """The manifest's `gpu` section (gathered from a child process; failures are recorded, never raised)."""
    section: dict[str, Any] = {"nvidia_smi": nvidia_smi(), "cuda_driver_version": cuda_driver_version()}
    command = [sys.executable, "-m", "suites.gpu_info", *(["--calibrate"] if calibrate else [])]
    try:
        done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout_s, check=False)
        lines = done.stdout.strip().splitlines()
        if done.returncode == 0 and lines:
            section.update(json.loads(lines[-1]))
        else:
            section["error"] = f"exit {done.returncode}: {done.stderr.strip()[-500:]}"
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError) as exc:
        section["error"] = f"{type(exc).__name__}: {exc}"[:500]
    return section


def main(argv: list[str]) -> int:
    print(json.dumps(torch_view(calibrate="--calibrate" in argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
