"""ONNX Runtime's transformer-fusion variant: the experts' offline fusion, offered on the transformer models only,
verified, with the fused ops recorded honestly and the fused model reused by the cell's later processes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from backends import EXPERT, STOCK, STUDY, CellRequest, get_backend
from backends.ort_fusion import TRANSFORMER_MODELS, VARIANT
from models import get_workload
from suites.matrix import Cell
from suites.runner import CellOptions, run_cell_isolated
from suites.stats import RepeatPolicy

ONCE = RepeatPolicy(min_runs=1, min_time_s=0.0, max_time_s=1.0, floor_runs=1)


def _request(workload: str, variant: str) -> CellRequest:
    model = get_workload(workload)
    return CellRequest(model, model.case(model.tiny_case), variant)


def test_the_variant_is_offered_on_transformers_only() -> None:
    ort = get_backend("onnxruntime")
    for name in TRANSFORMER_MODELS:
        model = get_workload(name)
        assert VARIANT in ort.variants_for(model, model.case(model.tiny_case))
    for name in ("matmul", "resnet18", "mlp"):
        model = get_workload(name)
        assert VARIANT not in ort.variants_for(model, model.case(model.tiny_case))
    if ort.missing_requirement is None:  # the rule, not a missing module, is what refuses it
        skip = ort.skip(_request("matmul", VARIANT))
        assert skip and skip.status == "unsupported" and "transformer" in skip.reason
        assert ort.skip(_request("bert_encoder", VARIANT)) is None


def test_the_variant_is_the_experts_path_with_sourced_settings() -> None:
    ort = get_backend("onnxruntime")
    assert ort.expert_variants == (VARIANT,)
    bert, matmul = get_workload("bert_encoder"), get_workload("matmul")
    on_bert, on_matmul = (bert, bert.case(bert.tiny_case)), (matmul, matmul.case(matmul.tiny_case))
    assert ort.paths_of(VARIANT, *on_bert) == (EXPERT,) and ort.paths_of("default", *on_bert) == (STOCK,)
    # Where no fusion applies, ORT_ENABLE_ALL is the experts' path as well as the stock one.
    assert ort.paths_of("default", *on_matmul) == (STOCK, EXPERT)
    assert all(ort.paths_of(v, *on_bert) == (STUDY,) for v in ("opt-disable", "opt-basic", "opt-extended"))
    settings = ort.settings_of(VARIANT)
    assert settings and all(s["source"] and s["effect"] for s in settings)
    assert any("benchmark.py" in s["source"] for s in settings)  # where ORT's benchmark turns the optimizer on
    assert ort.settings_of("default") == []  # ORT_ENABLE_ALL is ORT's own default


def test_the_fused_bert_cell_verifies_and_is_reused(tmp_path: Path) -> None:
    for module in ("onnxruntime", "onnxscript", "torch"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    cell = Cell("onnxruntime", VARIANT, "bert_encoder", get_workload("bert_encoder").tiny_case)
    options = CellOptions(threads=2, timeout_s=300, repeat_policy=ONCE, cache_dir=str(tmp_path / "cache"))
    first, later = (run_cell_isolated(cell, options, artifact_dir=tmp_path / "artifacts") for _ in range(2))
    for result in (first, later):
        assert result["status"] == "ok", f"{result['status']}: {result['reason']}\n{result.get('traceback', '')}"
        assert result["verification"]["passed"]
    details = first["details"]
    assert details["fusion_route"].startswith("onnxscript") and details["paths"] == [EXPERT]
    # One Attention per layer of the tiny case's two, and its LayerNorms fused with their residual adds.
    assert details["fused_ops"]["Attention"] == 2 and details["fused_ops"]["SkipLayerNormalization"] == 4
    assert details["graph_optimization_level"].endswith("ORT_ENABLE_ALL")
    assert 0 < details["fusion_s"] < first["compile_s"] and not details["fusion_reused"]
    assert details["ops_after"] < details["ops_before"]
    # The later process loads the fused model: the same graph, no fusion time.
    assert later["details"]["fusion_reused"] and later["details"]["fusion_s"] == 0
    assert later["details"]["fused_ops"] == details["fused_ops"]
