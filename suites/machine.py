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


def machine_slug() -> str:
    """A stable directory name for results: the CPU model and core count (hostnames are random in CI)."""
    model = re.sub(r"\((r|tm)\)|cpu|processor|\d+-core", "", cpu_model().lower())
    words = re.findall(r"[a-z0-9]+", model)[:4]
    return "-".join([*words, f"{usable_cores()}c"])


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
