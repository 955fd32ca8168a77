"""What the run manifest records about the machine and the checkout (for reproducibility)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
# CPU flags worth seeing in a manifest (the full list is long and mostly irrelevant to ML kernels).
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "neon", "asimd", "sve")


def _cpuinfo() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        if ":" in line:
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    return info


def cpu_model() -> str:
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def memory_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_generation(info: dict[str, str]) -> str:
    """The CPU generation as a short token: `f25m17` (x86 family 25, model 17), `i41pd0c` (Arm implementer 0x41,
    part 0xd0c), or "" when /proc/cpuinfo says neither (macOS, some virtual machines)."""
    family, model = info.get("cpu family", ""), info.get("model", "")
    if family.isdigit() and model.isdigit():
        return f"f{family}m{model}"
    implementer, part = info.get("CPU implementer", ""), info.get("CPU part", "")
    if implementer and part:
        return "i{}p{}".format(implementer.lower().removeprefix("0x"), part.lower().removeprefix("0x"))
    return ""


def slug_from(model_name: str, generation: str, cores: int) -> str:
    """`<up to 4 words of the CPU model>-<generation>-<cores>c`, e.g. `amd-epyc-f25m17-2c`."""
    model = re.sub(r"\((r|tm)\)|cpu|processor|\d+-core", "", model_name.lower())
    words = re.findall(r"[a-z0-9]+", model)[:4]
    return "-".join([*words, *([generation] if generation else []), f"{cores}c"])


def machine_slug() -> str:
    """A stable directory name for results: CPU model words, CPU generation and core count (hostnames are random
    in CI). The generation keeps apart CPUs that share a model name, e.g. Zen 4 and Zen 5 "AMD EPYC"."""
    return slug_from(cpu_model(), cpu_generation(_cpuinfo()), usable_cores())


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no")) if commit else False
    return {"commit": commit or "unknown", "dirty": dirty, "branch": git("rev-parse", "--abbrev-ref", "HEAD")}


def describe_machine() -> dict[str, Any]:
    flags = set(_cpuinfo().get("flags", "").split())
    return {
        "slug": machine_slug(),
        "cpu_model": cpu_model(),
        "cpu_family_model": "{}/{}".format(_cpuinfo().get("cpu family", "?"), _cpuinfo().get("model", "?")),
        "cpu_flags": [f for f in VECTOR_FLAGS if f in flags],
        "logical_cpus": os.cpu_count(),
        "usable_cores": usable_cores(),
        "memory_gib": round(memory_bytes() / 2**30, 1),
        "os": platform.platform(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
    }
