"""The report's honesty rules, each with the case that used to slip through: ratios across runs, ✗ from cells that
could not run, roofline fractions above 100%, disturbed cells, and the timer written for pytest-benchmark."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.aggregate import geomeans, speedups
from analysis.dataset import Dataset
from analysis.failures_page import failures_page
from analysis.load import load_results
from analysis.report import build_report
from analysis.roofline import DRAM, IN_CACHE, roofline
from analysis.roofline_page import roofline_page
from analysis.seed_matrix import measured_matrix
from suites.pytest_benchmark_export import to_pytest_benchmark
from tests.synthetic_runs import failed, ok, write_run

M = "box-2c"
A, B = "20260101T000000Z-aaaa", "20260201T000000Z-bbbb"


def test_a_ratio_is_never_formed_across_runs(tmp_path: Path) -> None:
    """Baseline only in run A, the backend only in run B: no speedup, no geomean term for that cell."""
    write_run(tmp_path, M, A, [ok("torch-eager", "default", "mm", "a", 2e-3), ok("torch-eager", "default", "mm", "b",
                                                                                 2e-3)])
    write_run(tmp_path, M, B, [ok("torch-eager", "default", "mm", "b", 2e-3, seed=3),
                               ok("x", "default", "mm", "a", 1e-3, seed=1),
                               ok("x", "default", "mm", "b", 1e-3, seed=2)])
    ds = Dataset(load_results(tmp_path))
    table = speedups(ds, "torch-eager")
    assert list(table["case"]) == ["b"]  # cell a: eager from run A, x from run B: refused
    eager_a, x_a = (ds.cur[(ds.cur["label"] == label) & (ds.cur["case"] == "a")].iloc[0].to_dict()
                    for label in ("torch-eager", "x"))
    assert ds.ratio(eager_a, x_a) is None
    (row,), common = geomeans(ds, M, "cpu", ("operators",), "torch-eager")
    assert row.ok_cells == 2 and row.own.n == 1 and common == [("mm", "b")]


def test_a_cell_missing_from_the_newest_run_is_not_borrowed(tmp_path: Path) -> None:
    write_run(tmp_path, M, A, [ok("torch-eager", "default", "mm", "a", 2e-3), ok("x", "default", "mm", "a", 1e-3)])
    write_run(tmp_path, M, B, [ok("x", "default", "mm", "a", 0.5e-3)])  # re-measured without its baseline
    report = build_report(tmp_path)
    assert report.speedups["torch-eager"].empty
    html = report_page(report, "workloads/operators--mm.html")
    assert "none: baseline from another run" in html


def report_page(report, path: str) -> str:
    from analysis.suite_pages import suite_pages
    return suite_pages(report)[path].render([])


def test_no_gpu_is_no_evidence_in_the_measured_matrix(tmp_path: Path) -> None:
    """Triton refused on a CPU-only machine: LLM support and CPU performance read 'not measured', never ✗; a
    backend that really tried and failed everywhere still gets ✗."""
    records = []
    for i, workload in enumerate(("attention", "bert")):
        records += [ok("torch-eager", "default", workload, "b1", 1e-3, seed=i, suite="models"),
                    ok("onnxruntime", "default", workload, "b1", 1e-3, seed=10 + i, suite="models"),
                    failed("triton", "default", workload, "b1", "unsupported", "Triton has no CPU backend",
                           suite="models"),
                    failed("xla", "default", workload, "b1", "compile_error", "lowering failed", suite="models")]
    write_run(tmp_path, M, A, records)
    matrix = measured_matrix(Dataset(load_results(tmp_path)))
    for dimension in ("LLM support", "CPU performance", "Ease of use"):
        assert matrix[dimension]["Triton"].stars is None, dimension
        assert matrix[dimension]["Triton"].kind == "not-measured", dimension
    assert matrix["LLM support"]["XLA"].stars == 0 and matrix["CPU performance"]["XLA"].stars == 0


def test_roofline_never_prints_a_fraction_above_the_dram_roof(tmp_path: Path) -> None:
    calibration = {"peak_gflops": 100.0, "bandwidth_gbps": 10.0}
    write_run(tmp_path, M, A, [
        ok("x", "default", "dram", "a", 1.0, flops=5e9, nbytes=5e9),  # AI 1: roof 10 GFLOP/s, runs 5: 50%
        ok("x", "default", "hot", "a", 0.25, flops=6e9, nbytes=5e9)],  # AI 1.2: roof 12, runs 24: in cache
        calibration=calibration)
    write_run(tmp_path, "big-llc", B, [ok("y", "default", "fits", "a", 1.0, flops=5e6, nbytes=5e6)],
              calibration=calibration, machine_info={"llc_bytes": 32e6})
    ds = Dataset(load_results(tmp_path))
    points, _ = roofline(ds)
    table = points.set_index(["label", "workload"])
    assert table.loc[("x", "dram"), "fraction"] == pytest.approx(0.5) and table.loc[("x", "dram"), "ceiling"] == DRAM
    assert table.loc[("x", "hot"), "ceiling"] == IN_CACHE and pd.isna(table.loc[("x", "hot"), "fraction"])
    assert table.loc[("y", "fits"), "ceiling"] == IN_CACHE  # the working set fits in the recorded LLC
    assert all(f <= 1.0 for f in points["fraction"].dropna())
    from analysis.report import Report
    html = roofline_page(Report(ds, tmp_path, [], {}, {})).render([])
    assert IN_CACHE in html and "200.0%" not in html


def test_disturbed_cells_are_flagged(tmp_path: Path) -> None:
    write_run(tmp_path, M, A, [ok("x", "default", "mm", "a", 1e-3, load_avg=[3.4, 2.9]),  # threads 2: > 3
                               ok("x", "default", "mm", "b", 1e-3, load_avg=[1.2, 2.5]),
                               ok("x", "default", "mm", "c", 1e-3)])
    report = build_report(tmp_path)
    flags = dict(zip(report.ds.cur["case"], report.ds.cur["disturbed"], strict=True))
    assert flags["a"] is True and flags["b"] is False and flags["c"] is None
    html = failures_page(report).render([])
    assert "Disturbed cells (1 of 2 with a recorded load average)" in html and "3.40, 2.90" in html
    assert "ok (disturbed)" in report_page(report, "workloads/operators--mm.html")


def test_pytest_benchmark_export_names_the_timer_the_record_used() -> None:
    cpu = {**ok("x", "default", "mm", "a", 1e-3), "run_id": A}
    gpu = {**ok("x", "default", "mm", "b", 1e-4), "device": "cuda", "device_timing": {"method": "cuda-events"}}
    manifest = {"machine": {"slug": M, "cpu_model": "Synthetic", "python": "3.11", "os": "Linux", "usable_cores": 2},
                "git": {"commit": "abc", "dirty": False}, "created_utc": "2026-01-01T00:00:00Z"}
    timers = [b["options"]["timer"] for b in to_pytest_benchmark(manifest, [cpu, gpu])["benchmarks"]]
    assert timers == ["perf_counter", "cuda-events"]
