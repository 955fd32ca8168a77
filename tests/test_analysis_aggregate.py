"""Aggregation maths on hand-made results whose answers are known: speedups, CIs, geomeans, coverage,
compile cost, break-even, roofline fraction, failure taxonomy."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from analysis.aggregate import failure_taxonomy, geomeans, speedups
from analysis.compile_cost import break_even, effective_compile
from analysis.dataset import Dataset
from analysis.load import load_results
from analysis.roofline import roofline
from suites.stats import geomean, median_replicates, ratio
from tests.synthetic_runs import failed, ok, write_run

M = "box-2c"


def dataset(tmp_path: Path, records: list[dict], **manifest) -> Dataset:
    write_run(tmp_path, M, "20260101T000000Z-aaaa", records, **manifest)
    return Dataset(load_results(tmp_path))


def test_known_speedups_and_cis_contain_the_truth(tmp_path: Path) -> None:
    ds = dataset(tmp_path, [ok("torch-eager", "default", "mm", "a", 2e-3, seed=1),
                            ok("fast", "default", "mm", "a", 1e-3, seed=2),
                            ok("slow", "default", "mm", "a", 8e-3, seed=3)])
    table = speedups(ds, "torch-eager").set_index("label")
    assert table.loc["fast", "speedup"] == pytest.approx(2.0)
    assert table.loc["slow", "speedup"] == pytest.approx(0.25)
    for label, truth in (("fast", 2.0), ("slow", 0.25)):
        lo, hi = table.loc[label, "lo"], table.loc[label, "hi"]
        assert lo <= truth <= hi and hi / lo < 1.05  # 2% noise, 101 samples: a tight interval around the truth


def test_bootstrap_ci_of_a_ratio_covers_the_population_ratio() -> None:
    """Samples drawn from lognormals with known medians: the 95% CI should cover the true ratio ~95% of the time."""
    rng = np.random.default_rng(42)
    covered = 0
    for trial in range(40):
        a = np.exp(rng.normal(math.log(3e-3), 0.3, size=61))
        b = np.exp(rng.normal(math.log(2e-3), 0.3, size=61))
        est = ratio((float(np.median(a)), median_replicates([a.tolist()], f"a{trial}")),
                    (float(np.median(b)), median_replicates([b.tolist()], f"b{trial}")))
        covered += est.lo <= 1.5 <= est.hi
    assert covered >= 32  # >= 80% of 40 (the expected 95% less sampling slack)


def test_bootstrap_is_deterministic_and_independent_of_order() -> None:
    samples = list(np.linspace(1.0, 2.0, 51))
    assert np.array_equal(median_replicates([samples], "cell"), median_replicates([samples], "cell"))
    assert not np.array_equal(median_replicates([samples], "cell"), median_replicates([samples], "other"))


def test_geomean_is_exact_and_never_drops_a_slow_cell(tmp_path: Path) -> None:
    records = []
    for i, (speedup) in enumerate((2.0, 4.0, 0.01)):  # one catastrophically slow cell
        records += [ok("torch-eager", "default", f"w{i}", "c", 1e-2, seed=i),
                    ok("x", "default", f"w{i}", "c", 1e-2 / speedup, seed=10 + i)]
    ds = dataset(tmp_path, records)
    rows, common = geomeans(ds, M, "cpu", ("operators",), "torch-eager")
    x = next(r for r in rows if r.label == "x")
    assert len(common) == 3 and x.common.n == 3
    assert x.common.value == pytest.approx((2.0 * 4.0 * 0.01) ** (1 / 3))
    assert x.common.lo <= x.common.value <= x.common.hi


def test_missing_cells_cannot_make_a_backend_look_better(tmp_path: Path) -> None:
    """'partial' fails the one cell where it would be slow: the common set drops that cell for everyone ranked, and
    a backend with too little coverage is not ranked at all."""
    records = []
    for i in range(4):
        records += [ok("torch-eager", "default", f"w{i}", "c", 1e-2, seed=i),
                    ok("steady", "default", f"w{i}", "c", 5e-3, seed=20 + i)]
    records += [ok("partial", "default", f"w{i}", "c", 2.5e-3, seed=30 + i) for i in range(3)]
    records.append(failed("partial", "default", "w3", "c", "compile_error", "no"))
    records.append(ok("rare", "default", "w0", "c", 1e-3, seed=40))
    records += [failed("rare", "default", f"w{i}", "c", "unsupported", "no") for i in (1, 2, 3)]
    ds = dataset(tmp_path, records)
    rows = {r.label: r for r in geomeans(ds, M, "cpu", ("operators",), "torch-eager")[0]}
    assert rows["partial"].ranked and rows["partial"].common.n == 3 and rows["partial"].coverage == 0.75
    assert rows["steady"].common.n == 3  # compared on the same three cells as 'partial'
    assert not rows["rare"].ranked and rows["rare"].common is None
    assert rows["rare"].own.value == pytest.approx(10.0) and rows["rare"].ok_cells == 1


def test_geomean_of_nothing_is_none() -> None:
    assert geomean([]) is None


def test_newest_run_replaces_an_older_measurement(tmp_path: Path) -> None:
    write_run(tmp_path, M, "20260101T000000Z-aaaa", [ok("torch-eager", "default", "mm", "a", 1.0),
                                                    ok("x", "default", "mm", "a", 1.0)])
    write_run(tmp_path, M, "20260201T000000Z-bbbb", [ok("torch-eager", "default", "mm", "a", 1.0),
                                                    ok("x", "default", "mm", "a", 0.5)])
    ds = Dataset(load_results(tmp_path))
    assert len(ds.all) == 4 and len(ds.cur) == 2
    assert speedups(ds, "torch-eager").iloc[0]["speedup"] == pytest.approx(2.0)


def test_break_even_counts_and_never(tmp_path: Path) -> None:
    ds = dataset(tmp_path, [ok("torch-eager", "default", "m", "b1", 10e-3, suite="models", compile_s=1.0),
                            ok("fast", "default", "m", "b1", 5e-3, suite="models", compile_s=11.0),
                            ok("slower", "default", "m", "b1", 20e-3, suite="models", compile_s=0.1),
                            ok("cheap", "default", "m", "b1", 9e-3, suite="models", compile_s=0.5)])
    table = break_even(ds).set_index("label")
    assert table.loc["fast", "break_even"] == math.ceil((11.0 - 1.0) / (10e-3 - 5e-3))  # 2000
    assert table.loc["slower", "break_even"] == "never"
    assert table.loc["cheap", "break_even"] == 1  # cheaper and faster: wins from the first inference


def test_cached_tuning_is_still_paid_for(tmp_path: Path) -> None:
    """tuning_s_original when recorded; else the tuning_s of the earlier run that tuned the same cell."""
    write_run(tmp_path, M, "20260101T000000Z-aaaa", [
        ok("torch-eager", "default", "m", "b1", 10e-3, compile_s=1.0),
        ok("tvm", "tuned", "m", "b1", 5e-3, compile_s=104.0, details={"tuning_s": 100.0, "tuning_cached": False}),
        ok("tvm", "tuned2", "m", "b1", 5e-3, compile_s=4.0,
           details={"tuning_s": 0.0, "tuning_cached": True, "tuning_s_original": 50.0})])
    write_run(tmp_path, M, "20260201T000000Z-bbbb", [  # eager again: break-even compares within one run
        ok("torch-eager", "default", "m", "b1", 10e-3, compile_s=1.0),
        ok("tvm", "tuned", "m", "b1", 5e-3, compile_s=4.0, details={"tuning_s": 0.0, "tuning_cached": True})])
    ds = Dataset(load_results(tmp_path))
    costs = effective_compile(ds).set_index("label")
    assert costs.loc["tvm/tuned", "tuning_cost_s"] == 100.0
    assert costs.loc["tvm/tuned", "effective_compile_s"] == pytest.approx(104.0)
    assert costs.loc["tvm/tuned2", "effective_compile_s"] == pytest.approx(54.0)
    n = break_even(ds).set_index("label").loc["tvm/tuned", "break_even"]
    assert n == math.ceil((104.0 - 1.0) / 5e-3)


def test_a_backend_that_compiles_on_its_first_call_is_charged_for_it(tmp_path: Path) -> None:
    """Inductor compiles lazily: its prepare step is cheap and its first call holds the compile."""
    write_run(tmp_path, M, "20260101T000000Z-aaaa", [
        ok("torch-eager", "default", "m", "b1", 10e-3, compile_s=0.0, first_run_s=0.02),
        ok("inductor", "default", "m", "b1", 5e-3, compile_s=0.5, first_run_s=20.005,
           details={"first_call_compiles": True}),
        ok("xla", "default", "m", "b1", 5e-3, compile_s=2.0, first_run_s=20.005)])
    costs = effective_compile(Dataset(load_results(tmp_path))).set_index("label")
    assert costs.loc["inductor", "effective_compile_s"] == pytest.approx(0.5 + 20.0)
    assert costs.loc["xla", "effective_compile_s"] == pytest.approx(2.0)  # compiled in prepare: first call is a run
    assert costs.loc["torch-eager", "effective_compile_s"] == pytest.approx(0.0)


def test_roofline_fraction_and_calibration_fallback(tmp_path: Path) -> None:
    write_run(tmp_path, M, "20260101T000000Z-aaaa", [
        ok("x", "default", "low-ai", "a", 1.0, flops=5e9, nbytes=5e9),  # AI 1: roof = bw = 10 GFLOP/s, runs 5
        ok("x", "default", "high-ai", "a", 0.1, flops=5e9, nbytes=5e7)])  # AI 100: roof = peak 100, runs 50
    write_run(tmp_path, M, "20260201T000000Z-bbbb", [ok("y", "default", "low-ai", "a", 1.0, flops=5e9, nbytes=5e9)],
              calibration={"peak_gflops": 100.0, "bandwidth_gbps": 10.0})
    write_run(tmp_path, "other-4c", "20260101T000000Z-cccc", [ok("z", "default", "low-ai", "a", 1.0)])
    points, notes = roofline(Dataset(load_results(tmp_path)))
    table = points.set_index(["label", "workload"])
    assert table.loc[("x", "low-ai"), "fraction"] == pytest.approx(0.5)
    assert table.loc[("x", "high-ai"), "fraction"] == pytest.approx(0.5)
    assert table.loc[("x", "low-ai"), "calibration"] == "run 20260201T000000Z-bbbb"  # borrowed from the newer run
    assert table.loc[("y", "low-ai"), "calibration"] == "this run"
    assert "not available" in notes["other-4c"] and "z" not in set(points["label"])


def test_failure_taxonomy_counts_every_status(tmp_path: Path) -> None:
    ds = dataset(tmp_path, [ok("a", "default", "w", "1", 1e-3), failed("a", "default", "w", "2", "timeout", "limit"),
                            failed("a", "default", "w", "3", "timeout", "limit"),
                            failed("b", "v", "w", "1", "wrong_result", "error 1.0 > tolerance")])
    table = failure_taxonomy(ds).set_index("label")
    assert table.loc["a", "ok"] == 1 and table.loc["a", "timeout"] == 2 and table.loc["b/v", "wrong_result"] == 1


def test_a_cell_measured_in_several_processes_gets_the_between_process_spread(tmp_path: Path) -> None:
    """timing.processes: the replicates behind ratios resample processes, then samples; pooled samples would not."""
    rng = np.random.default_rng(3)
    processes = [(m * (1 + 0.01 * rng.standard_normal(101))).tolist() for m in (0.9e-3, 1.0e-3, 1.1e-3, 1.05e-3)]
    pooled = ok("x", "default", "mm", "a", 1e-3, seed=5)
    pooled["timing"]["samples_s"] = [s for p in processes for s in p]
    split = {**pooled, "timing": {**pooled["timing"], "processes": [{"samples_s": p} for p in processes]},
             "workload": "mm2", "cell": "x/default/mm2/a"}
    ds = dataset(tmp_path, [ok("torch-eager", "default", "mm", "a", 1e-3), pooled,
                            {**ok("torch-eager", "default", "mm2", "a", 1e-3)}, split])
    table = speedups(ds, "torch-eager").set_index("workload")
    width = {w: table.loc[w, "hi"] / table.loc[w, "lo"] for w in ("mm", "mm2")}
    assert width["mm2"] > 1.15 and width["mm"] < 1.06  # the process spread (~8%) is in the CI only when kept
