"""Claims, ratings and flowchart edges follow the data: the same claim flips when its measurements flip."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.claim_types import Claim
from analysis.claims import evaluate
from analysis.dataset import Dataset
from analysis.flowchart import draw
from analysis.load import load_results
from analysis.registry import REGISTRY
from analysis.seed_matrix import measured_matrix
from tests.synthetic_runs import failed, ok, write_run, write_tuning

M = "box-2c"


def data(tmp_path: Path, records: list[dict], machine: str = M) -> Dataset:
    write_run(tmp_path, machine, "20260101T000000Z-aaaa", records)
    return Dataset(load_results(tmp_path))


def claim(claim_id: str) -> Claim:
    return next(c for c in REGISTRY if c.id == claim_id)


def verdict(ds: Dataset, claim_id: str) -> str:
    (result,) = evaluate(ds, (claim(claim_id),))
    return result.outcome.verdict


def test_every_claim_cites_a_seed_and_has_a_rule() -> None:
    ids = [c.id for c in REGISTRY]
    assert len(ids) == len(set(ids)) >= 15
    for c in REGISTRY:
        assert c.source.endswith(".txt") and c.quote and c.query and c.rule and c.target in ("cpu", "gpu", "any")


def test_no_data_is_inconclusive_never_a_guess(tmp_path: Path) -> None:
    ds = data(tmp_path, [ok("numpy", "default", "mm", "a", 1e-3)])
    for result in evaluate(ds, REGISTRY):
        assert result.outcome.verdict == "inconclusive", result.claim.id


# 1.0: equal within the noise band (5% without a measured pair): no practical difference refutes "beats";
# 1.05: the CI straddles the band's edge: inconclusive.
@pytest.mark.parametrize(("tvm_over_eager", "expected"),
                         [(1.5, "supported"), (0.6, "refuted"), (1.0, "refuted"), (1.05, "inconclusive")])
def test_vendor_library_claim_flips_with_the_data(tmp_path: Path, tvm_over_eager: float, expected: str) -> None:
    records = []
    for i, workload in enumerate(("matmul", "conv2d")):
        records += [ok("torch-eager", "default", workload, "x", 1e-3, seed=i, spread=0.1),
                    ok("tvm", "tuned", workload, "x", 1e-3 * tvm_over_eager, seed=10 + i, spread=0.1)]
    assert verdict(data(tmp_path, records), "vendor-beats-generated") == expected


@pytest.mark.parametrize(("tvm_ms", "expected"), [(10.0, "supported"), (17 / 3, "refuted"), (17.0, "refuted")])
def test_resnet18_speedup_band(tmp_path: Path, tvm_ms: float, expected: str) -> None:
    case = dict(suite="models", dims={"batch": 1})
    records = [ok("torch-eager", "default", "resnet18", "1x3x224x224", 17e-3, **case),
               ok("tvm", "untuned-O2", "resnet18", "1x3x224x224", tvm_ms * 1e-3, seed=1, **case),
               ok("tvm", "untuned", "resnet18", "1x3x224x224", 0.5, seed=4, **case),  # O0: not an optimised build
               ok("tvm", "tuned", "resnet18", "8x3x224x224", 1e-4, seed=2, suite="models", dims={"batch": 8})]
    assert verdict(data(tmp_path, records), "tvm-resnet18-1.7x") == expected


def test_resnet18_speedup_is_decided_at_the_deepest_tuning_paired_in_its_run(tmp_path: Path) -> None:
    case = dict(suite="models", dims={"batch": 1})

    def run(tvm_variant: str, tvm_ms: float, trials: int, seed: int) -> list[dict]:
        return [ok("torch-eager", "default", "resnet18", "b1", 17e-3, seed=seed, **case),
                ok("tvm", tvm_variant, "resnet18", "b1", tvm_ms * 1e-3, seed=seed + 1, details={"trials": trials},
                   **case)]

    # the older run tuned deep (TVM 1.7x eager); the newer one holds a shallow point of another curve (0.4x)
    write_run(tmp_path, M, "20260101T000000Z-aaaa", run("tuned", 10.0, 256, 1))
    write_run(tmp_path, M, "20260102T000000Z-bbbb", run("tuned-prepack", 42.0, 8, 3))
    (result,) = evaluate(Dataset(load_results(tmp_path)), (claim("tvm-resnet18-1.7x"),))
    assert result.outcome.verdict == "supported"
    assert "256 trials per task" in result.outcome.detail and "20260101T000000Z-aaaa" in result.outcome.detail
    write_run(tmp_path, M, "20260103T000000Z-cccc", run("tuned-prepack", 42.0, 512, 5))  # deeper still, and slow
    assert verdict(Dataset(load_results(tmp_path)), "tvm-resnet18-1.7x") == "refuted"


def test_triton_cpu_claim_flips_when_triton_runs(tmp_path: Path) -> None:
    reason = "Triton has no CPU backend"
    # The adapter's own refusal could never have refuted the claim, so it cannot support it: not measured.
    refused = data(tmp_path / "a", [failed("triton", "default", "mm", "a", "unsupported", reason)])
    assert verdict(refused, "triton-gpu-only") == "inconclusive"
    (result,) = evaluate(refused, (claim("triton-gpu-only"),))
    assert "not measured" in result.outcome.detail
    tried = [failed("triton", "cpu", "mm", "a", "compile_error", "triton-cpu: no lowering for tt.dot")]
    assert verdict(data(tmp_path / "c", tried), "triton-gpu-only") == "supported"  # really attempted, none ran
    assert verdict(data(tmp_path / "b", [failed("triton", "default", "mm", "a", "unsupported", reason),
                                         ok("triton", "default", "mm", "b", 1e-3)]), "triton-gpu-only") == "refuted"


def _models(ort_cells: int, tvm_cells: int) -> list[dict]:
    records = []
    for i in range(3):
        records.append(ok("onnxruntime", "default", f"m{i}", "b1", 1e-3, suite="models") if i < ort_cells else
                       failed("onnxruntime", "default", f"m{i}", "b1", "compile_error", "op not supported",
                              suite="models"))
        records.append(ok("tvm", "untuned", f"m{i}", "b1", 1e-3, suite="models") if i < tvm_cells else
                       failed("tvm", "untuned", f"m{i}", "b1", "compile_error", "no", suite="models"))
    return records


def test_broadest_model_support_and_the_flowchart_edge_flip(tmp_path: Path) -> None:
    for folder, (ort, tvm, expected) in {"a": (3, 2, "supported"), "b": (2, 3, "refuted")}.items():
        ds = data(tmp_path / folder, _models(ort, tvm))
        results = evaluate(ds, REGISTRY)
        assert next(r for r in results if r.claim.id == "ort-broadest-models").outcome.verdict == expected
        edge = next(e for e in draw(ds, results, "cpu") if "Just works" in e.condition)
        assert edge.verdict == expected
        assert ("tvm 100%" in edge.measured_choice) == (expected == "refuted")


@pytest.mark.parametrize(("tuning_s", "expected"), [(120.0, "supported"), (10.0, "refuted")])
def test_seconds_vs_minutes(tmp_path: Path, tuning_s: float, expected: str) -> None:
    records = [ok("inductor", "default", "mm", "a", 1e-3, compile_s=4.0), ok("xla", "default", "mm", "a", 1e-3,
                                                                            compile_s=0.5),
               ok("tvm", "tuned", "mm", "a", 1e-3, compile_s=tuning_s + 3, details={"tuning_s": tuning_s})]
    assert verdict(data(tmp_path, records), "compile-seconds-vs-minutes") == expected


def _ladder(times: dict[str, float]) -> list[dict]:
    return [ok("tvm-te", step, "matmul", "1024x1024x1024", t, suite="schedules", seed=i, flops=2 * 1024 ** 3)
            for i, (step, t) in enumerate(times.items())]


def test_ladder_claims_flip(tmp_path: Path) -> None:
    good = {"naive": 0.5, "split": 0.2, "reorder": 0.1, "vectorize": 0.04, "parallel": 0.02, "unroll": 0.015}
    ds = data(tmp_path / "a", _ladder(good))
    assert verdict(ds, "ladder-each-step-helps") == "supported"
    assert verdict(ds, "ladder-10-100x") == "supported"  # 0.5 / 0.015 = 33x
    assert verdict(ds, "naive-matmul-4-gflops") == "supported"  # 2.15e9 / 0.5 s = 4.3 GFLOP/s
    bad = {**good, "vectorize": 0.2, "unroll": 0.0025}  # vectorize makes it slower; total 200x
    ds = data(tmp_path / "b", _ladder(bad))
    assert verdict(ds, "ladder-each-step-helps") == "refuted"
    assert verdict(ds, "ladder-10-100x") == "refuted"


@pytest.mark.parametrize(("auto_s", "expected"), [(0.01, "supported"), (0.05, "refuted")])
def test_autotuning_vs_hand_schedules(tmp_path: Path, auto_s: float, expected: str) -> None:
    records = _ladder({"naive": 0.5, "parallel": 0.02})
    records.append(ok("tvm-te", "metaschedule-256", "matmul", "1024x1024x1024", auto_s, suite="schedules", seed=9))
    records += [ok("halide", "hand", "matmul", "1024x1024x1024", 0.02, suite="schedules", seed=11),
                ok("halide", "adams2019", "matmul", "1024x1024x1024", auto_s, suite="schedules", seed=12)]
    ds = data(tmp_path, records)
    assert verdict(ds, "autotune-beats-hand-tvm") == expected
    assert verdict(ds, "autotune-beats-hand-halide") == expected


def test_tuning_curve_points_count_as_auto_tuned_kernels(tmp_path: Path) -> None:
    from tests.synthetic_runs import tuning_point
    records = _ladder({"naive": 0.5, "parallel": 0.02})
    write_run(tmp_path, M, "20260101T000000Z-aaaa", records)
    points = [tuning_point("matmul", "1024x1024x1024", "xgb", b, t, s, flops=2 * 1024 ** 3)
              for b, t, s in ((0, 0.0, 0.5), (64, 60.0, 0.03), (256, 200.0, 0.01))]
    write_tuning(tmp_path, M, points)  # timed in their own tuning run: never paired with the schedules run
    assert verdict(Dataset(load_results(tmp_path)), "autotune-beats-hand-tvm") == "inconclusive"
    write_tuning(tmp_path, M, [{**p, "run_id": "20260101T000000Z-aaaa"} for p in points])  # same run as the ladder
    ds = Dataset(load_results(tmp_path))
    assert verdict(ds, "autotune-beats-hand-tvm") == "supported"  # 0.02 s hand vs 0.01 s after 256 trials
    (result,) = evaluate(ds, (claim("autotune-beats-hand-tvm"),))
    assert result.outcome.estimate.value == pytest.approx(2.0)


@pytest.mark.parametrize(("opt_ms", "expected"), [(8.0, "supported"), (20.0, "refuted")])
def test_graph_level_study(tmp_path: Path, opt_ms: float, expected: str) -> None:
    case = dict(suite="models", dims={"batch": 1})
    records = [ok("tvm", "untuned", "resnet18", "1x3x224x224", 25e-3, **case),
               ok("tvm", "untuned-O2", "resnet18", "1x3x224x224", opt_ms * 1e-3, seed=3, **case)]
    assert verdict(data(tmp_path, records), "tvm-opt-levels-3x") == expected


@pytest.mark.parametrize(("factors", "expected"), [((0.5, 0.5, 0.5), "supported"), ((2.0, 2.0, 2.0), "refuted"),
                                                   ((0.5, 2.0, 0.5), "inconclusive")])
def test_fusion_claim_needs_every_fusing_compiler(tmp_path: Path, factors: tuple[float, ...], expected: str) -> None:
    records = [ok("torch-eager", "default", "softmax", "a", 1e-3)]
    records += [ok(b, v, "softmax", "a", 1e-3 * f, seed=i + 1) for i, ((b, v), f) in
                enumerate(zip((("inductor", "default"), ("xla", "default"), ("tvm", "tuned")), factors, strict=True))]
    assert verdict(data(tmp_path, records), "fusion-beats-eager") == expected


def test_gpu_claims_and_flowchart_appear_with_gpu_results(tmp_path: Path) -> None:
    gpu = [{**ok("triton", "default", "matmul", "a", 1e-4), "device": "cuda"},
           {**ok("torch-eager", "default", "matmul", "a", 2e-4, seed=3), "device": "cuda"}]
    write_run(tmp_path, "nvidia-h100", "20260101T000000Z-gggg", gpu)
    write_run(tmp_path, M, "20260101T000000Z-cccc", [ok("torch-eager", "default", "matmul", "a", 1e-3)])
    ds = Dataset(load_results(tmp_path))
    results = evaluate(ds, REGISTRY)
    gpu_result = next(r for r in results if r.claim.id == "triton-best-gpu")
    assert gpu_result.machine == "nvidia-h100" and gpu_result.outcome.verdict == "supported"
    edge = next(e for e in draw(ds, results, "gpu") if e.condition == "NVIDIA GPU only")
    assert edge.verdict == "supported"
    assert next(e for e in draw(ds, results, "cpu") if e.condition == "NVIDIA GPU only").verdict == "not measured"
    assert measured_matrix(ds)["GPU performance (NVIDIA)"]["Triton"].stars == 5  # 2x eager


@pytest.mark.parametrize(("speedup", "stars"), [(1.2, 4), (0.4, 1), (2.0, 5)])
def test_cpu_performance_rating_follows_the_geomean(tmp_path: Path, speedup: float, stars: int) -> None:
    records = []
    for i in range(3):
        records += [ok("torch-eager", "default", f"w{i}", "a", 1e-3, seed=i),
                    ok("onnxruntime", "default", f"w{i}", "a", 1e-3 / speedup, seed=10 + i)]
    matrix = measured_matrix(data(tmp_path, records))
    assert matrix["CPU performance"]["ORT"].stars == stars
    assert matrix["Community size"]["ORT"].kind == "not-measured"
    assert "000_84592de20c79ad1d.txt" in matrix["Browser / WASM"]["TVM"].note


PER_TYPE = {"conv2d": 20, "batch_norm": 20, "relu": 17}  # counts per operator type are summed


@pytest.mark.parametrize(("before", "after", "expected"), [(PER_TYPE, 24, "supported"), (57, 57, "refuted"),
                                                           (57, 40, "inconclusive")])
def test_fusion_operator_counts(tmp_path: Path, before: object, after: object, expected: str) -> None:
    record = ok("tvm", "untuned", "resnet18", "1x3x224x224", 1e-2, suite="models", dims={"batch": 1},
                details={"ops_before": before, "ops_after": after})
    assert verdict(data(tmp_path, [record]), "fusion-cuts-kernels") == expected


def test_a_cell_never_run_counts_neither_for_nor_against(tmp_path: Path) -> None:
    """TVM not yet run on m2 (an unfinished run): compared on m0, m1 only, where it verifies as much as ORT."""
    records = _models(3, 2)[:-1]  # drop TVM's failed m2 record
    ds = data(tmp_path, records)
    (result,) = evaluate(ds, (claim("tvm-best-coverage"),))
    assert result.outcome.verdict == "supported" and "1 cells not run by every compiler" in result.outcome.detail
