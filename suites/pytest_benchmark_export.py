"""Export a run in pytest-benchmark's JSON format, so `pytest-benchmark compare` can read and compare runs.

Each `ok` cell becomes one benchmark named `test_<workload>[<backend>/<variant>-<case>]`, grouped by
workload and case; its statistics are computed by pytest-benchmark's own Stats class from the warm-run
samples, so `compare` sees exactly what it would for a native pytest-benchmark run.
"""

from __future__ import annotations

from typing import Any


def timer_of(record: dict[str, Any]) -> str:
    """The clock the record's samples were taken with: `device_timing.method` (e.g. cuda-events) when the cell
    was timed on a device, else the host's perf_counter."""
    method = (record.get("device_timing") or {}).get("method")
    return str(method) if method else "perf_counter"


def _benchmark(record: dict[str, Any]) -> dict[str, Any]:
    from pytest_benchmark.stats import Stats

    stats = Stats()
    for sample in record["timing"]["samples_s"]:
        stats.update(sample)
    param = f"{record['backend']}/{record['variant']}-{record['case']}"
    name = f"test_{record['workload']}[{param}]"
    return {
        "group": f"{record['workload']} {record['case']}",
        "name": name,
        "fullname": f"mlcompare::{name}",
        "params": {"backend": record["backend"], "variant": record["variant"], "case": record["case"]},
        "param": param,
        "extra_info": {"gflops": record["gflops"], "gbps": record["gbps"], "compile_s": record.get("compile_s"),
                       "threads": record["threads"], "dtype": record["dtype"], "device": record["device"]},
        "options": {"timer": timer_of(record), "min_rounds": None, "max_time": None, "warmup": True,
                    "disable_gc": False},
        "stats": {**stats.as_dict(), "data": list(stats.data), "iterations": 1},
    }


def to_pytest_benchmark(manifest: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    from pytest_benchmark import __version__

    machine = manifest["machine"]
    git = manifest["git"]
    return {
        "machine_info": {"node": machine["slug"], "processor": machine["cpu_model"], "machine": machine["slug"],
                         "python_implementation": "CPython", "python_version": machine["python"],
                         "system": machine["os"], "cpu": {"count": machine["usable_cores"],
                                                          "brand_raw": machine["cpu_model"]}},
        "commit_info": {"id": git["commit"], "dirty": git["dirty"], "branch": git.get("branch", ""),
                        "project": "mlcompare"},
        "benchmarks": [_benchmark(r) for r in records if r["status"] == "ok"],
        "datetime": manifest["created_utc"],
        "version": __version__,
    }
