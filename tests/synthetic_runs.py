"""Hand-made results with known answers, for the tests (and for trying the report without running benchmarks).

ok records get `n` warm-run samples whose sample median is exactly the requested median (symmetric noise around
it), so a speedup's point estimate is known exactly and its bootstrap CI must contain it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from suites.results import SCHEMA_VERSION, append_record, write_json_atomic

KIND = {"operators": "operator", "models": "model", "schedules": "operator"}


def ok(backend: str, variant: str, workload: str, case: str, median_s: float, *, suite: str = "operators",
       spread: float = 0.02, n: int = 101, seed: int = 0, flops: float = 1e8, nbytes: float = 1e7,
       compile_s: float = 1.0, **extra: Any) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=n)
    noise -= np.median(noise)  # the sample median is then exactly median_s (n odd)
    samples = np.maximum(median_s * (1.0 + spread * noise), median_s * 0.05)
    q1, q3 = np.quantile(samples, [0.25, 0.75])
    timing = {"n": n, "median_s": float(np.median(samples)), "mean_s": float(samples.mean()),
              "stdev_s": float(samples.std(ddof=1)), "min_s": float(samples.min()), "max_s": float(samples.max()),
              "p10_s": float(np.quantile(samples, 0.1)), "p90_s": float(np.quantile(samples, 0.9)),
              "q1_s": float(q1), "q3_s": float(q3), "iqr_s": float(q3 - q1),
              "ci95_median_s": [median_s * 0.99, median_s * 1.01], "total_s": float(samples.sum()),
              "samples_s": [float(s) for s in samples]}
    record = _base(backend, variant, workload, case, "ok", "", suite, flops, nbytes)
    record.update(timing=timing, compile_s=compile_s, first_run_s=median_s * 3, gflops=flops / median_s / 1e9,
                  gbps=nbytes / median_s / 1e9, verification={"error": 1e-6, "tolerance": 1e-4, "passed": True},
                  details={})
    return _merge(record, extra)


def failed(backend: str, variant: str, workload: str, case: str, status: str, reason: str, *,
           suite: str = "operators", **extra: Any) -> dict[str, Any]:
    return _merge(_base(backend, variant, workload, case, status, reason, suite, 1e8, 1e7), extra)


def _base(backend: str, variant: str, workload: str, case: str, status: str, reason: str, suite: str, flops: float,
          nbytes: float) -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, "run_id": "", "cell": f"{backend}/{variant}/{workload}/{case}",
            "backend": backend, "variant": variant, "workload": workload, "case": case, "suite": suite,
            "kind": KIND.get(suite, "operator"), "dims": {}, "device": "cpu", "dtype": "float32", "threads": 2,
            "flops": flops, "bytes": nbytes, "status": status, "reason": reason, "finished_utc": "2026-01-01T00:00:00Z"}


def _merge(record: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    details = extra.pop("details", None)
    record.update(extra)
    if details:
        record["details"] = {**(record.get("details") or {}), **details}
    return record


def write_run(results_dir: Path, machine: str, run_id: str, records: list[dict[str, Any]],
              calibration: dict[str, float] | None = None, machine_info: dict[str, Any] | None = None,
              **manifest: Any) -> Path:
    """Write a run (records + manifest) the way suites.results does; returns the records file.
    `machine_info` adds to the manifest's `machine` (e.g. cpu_family_model, llc_bytes)."""
    folder = results_dir / machine
    path = folder / f"{run_id}.jsonl"
    for record in records:
        append_record(path, {**record, "run_id": run_id})
    variants: dict[str, list[str]] = {}
    for r in records:
        variants.setdefault(r["backend"], [])
        if r["variant"] not in variants[r["backend"]]:
            variants[r["backend"]].append(r["variant"])
    data = {"schema": SCHEMA_VERSION, "run_id": run_id, "created_utc": "2026-01-01T00:00:00Z",
            "command": "synthetic", "machine": {"slug": machine, "cpu_model": "Synthetic CPU", "usable_cores": 2,
                                                                 **(machine_info or {})},
            "variants": variants, "versions": {b: {"synthetic": "1.0"} for b in variants}, "sessions": [],
            **manifest}
    if calibration is not None:
        data["calibration"] = calibration
    write_json_atomic(folder / f"{run_id}.manifest.json", data)
    return path


def write_tuning(results_dir: Path, machine: str, points: list[dict[str, Any]], name: str = "curves") -> Path:
    path = results_dir / machine / "tuning" / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(p, sort_keys=True) + "\n" for p in points), encoding="utf-8")
    return path


def tuning_point(workload: str, case: str, cost_model: str, budget: int, tuning_s: float, median_s: float,
                 flops: float, run_id: str = "20260101T000000Z-7777") -> dict[str, Any]:
    """A point as backends/tvm/tuning_curves.py writes it: the best kernel after `budget` trials, timed afresh."""
    timing = ok("tvm-ms", f"{cost_model}-{budget}", workload, case, median_s, seed=budget)["timing"]
    return {"schema": 1, "run_id": run_id, "kind": "point", "key": f"point/{workload}/{case}/{cost_model}/{budget}",
            "workload": workload, "case": case, "cost_model": cost_model, "budget": budget, "tuning_s": tuning_s,
            "status": "ok", "reason": "", "timing": timing, "median_s": median_s, "gflops": flops / median_s / 1e9,
            "flops": flops}


XSS = "<script>window.__xss = 1</script>"


def demo(results_dir: Path) -> None:
    """A small but complete results folder: every page of the site has something to show."""
    ops = []
    for i, (workload, case) in enumerate((("matmul", "64x64x64"), ("softmax", "128x128"), ("conv2d", "1x3x8x8"))):
        ops += [ok("torch-eager", "default", workload, case, 2e-3, seed=i),
                ok("numpy", "default", workload, case, 3e-3, seed=i + 10, compile_s=0.0),
                ok("inductor", "default", workload, case, 1e-3, seed=i + 20, compile_s=5.0),
                ok("xla", "default", workload, case, 1.5e-3, seed=i + 30, compile_s=0.5),
                ok("onnxruntime", "default", workload, case, 1.8e-3, seed=i + 40, compile_s=2.0),
                ok("tvm", "untuned", workload, case, 8e-3, seed=i + 50, compile_s=3.0),
                ok("tvm", "tuned", workload, case, 2.5e-3, seed=i + 60, compile_s=90.0,
                   details={"tuning_s": 86.0, "tuning_cached": False}),
                failed("triton", "default", workload, case, "unsupported", "Triton has no CPU backend")]
    ops.append(failed("iree", "onnx", "conv2d", "1x3x8x8", "compile_error", f"iree-compile failed: {XSS}",
                      traceback=f"Traceback (most recent call last):\n  {XSS}\nRuntimeError: <b>bad</b>"))
    ops += [ok("iree", "onnx", w, c, 2.2e-3, seed=70 + k) for k, (w, c) in enumerate((("matmul", "64x64x64"),
                                                                                      ("softmax", "128x128")))]
    sched = [ok("tvm-te", step, "matmul", "1024x1024x1024", t, suite="schedules", seed=80 + k, flops=2 * 1024 ** 3,
                details={"tir": f"# from tvm.script import tir as T\n# step {step}\nfor i in range(1024): ..."})
             for k, (step, t) in enumerate((("naive", 0.5), ("split", 0.2), ("reorder", 0.1), ("vectorize", 0.04),
                                            ("parallel", 0.02), ("unroll", 0.015)))]
    sched.append(ok("numpy", "default", "matmul", "1024x1024x1024", 0.008, suite="schedules", seed=99,
                    flops=2 * 1024 ** 3))
    write_run(results_dir, "synthetic-2c", "20260101T000000Z-0001", ops + sched,
              calibration={"peak_gflops": 400.0, "bandwidth_gbps": 20.0})
    flops = 2 * 1024 ** 3
    points = [tuning_point("matmul", "1024x1024x1024", model, b, b * 1.5, flops / (g * scale) / 1e9, flops)
              for model, scale in (("xgb", 1.0), ("random", 0.8))
              for b, g in ((0, 10.0), (32, 80.0), (64, 120.0), (128, 150.0), (256, 300.0))]
    baseline = {"schema": 1, "kind": "baseline", "run_id": points[0]["run_id"],
                "key": "baseline/matmul/1024x1024x1024/numpy", "workload": "matmul",
                "case": "1024x1024x1024", "backend": "numpy", "status": "ok", "gflops": 268.0, "median_s": 0.008}
    deploy = {"schema": 1, "kind": "deploy", "artifact": "kernel", "workload": "matmul", "case": "1024x1024x1024",
              "variant": "xgb-256", "bytes": 23992, "latency_ratio": 1.01, "status": "ok"}
    write_tuning(results_dir, "synthetic-2c", [*points, baseline, deploy])
