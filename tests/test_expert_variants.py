"""The experts' fast paths of Inductor (freezing) and IREE (O2 + data tiling): declared with sources, run, verify,
and record what they changed; the stock variants stay as they were."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from backends import EXPERT, STOCK, CellRequest, get_backend
from backends.base import Task
from backends.inductor import MODES
from models import get_workload
from models.workload import Case
from suites.tolerance import verify
from tests.test_backend_onnx_iree import _need, _prepare_tiny
from tests.test_backends import run_tiny

EXPERT_BACKENDS = ("inductor", "iree", "tvm")


@pytest.mark.parametrize("name", EXPERT_BACKENDS)
def test_settings_name_known_variants_and_every_expert_variant_has_a_source(name: str) -> None:
    backend = get_backend(name)
    assert set(backend.variant_settings) <= set(backend.variants)
    assert backend.expert_variants and set(backend.expert_variants) <= set(backend.variants)
    for variant in backend.expert_variants:
        settings = backend.variant_settings.get(variant, ())
        assert settings and all(s.source.strip() and s.name and s.value and s.effect for s in settings), variant
    resnet = get_workload("resnet18")  # a model: every variant of both backends is offered on it
    on_model = (resnet, resnet.case(resnet.tiny_case))
    for variant in backend.expert_variants:
        assert backend.paths_of(variant, *on_model) == (EXPERT,)
    for variant in set(backend.variants) - set(backend.expert_variants):
        assert backend.paths_of(variant, *on_model) == (STOCK,)


def test_the_stock_variants_are_kept() -> None:
    assert {"default", "max-autotune"} <= set(get_backend("inductor").variants)
    assert {"onnx", "stablehlo"} <= set(get_backend("iree").variants)


def test_iree_o2_variants_keep_their_frontends_definition() -> None:
    iree = get_backend("iree")
    assert iree.capabilities.definition_for("stablehlo-O2") == "jax"
    assert iree.capabilities.definition_for("onnx-O2") == "onnx"
    # A workload with only a JAX definition: the StableHLO paths run it, the ONNX paths refuse it.
    workload: Any = SimpleNamespace(name="jax-only", kind="model", definitions=("jax",))
    case = Case.of("one", n=1)
    assert iree.skip(CellRequest(workload, case, "stablehlo-O2", "cpu")) is None
    refused = iree.skip(CellRequest(workload, case, "onnx-O2", "cpu"))
    assert refused and refused.status == "unsupported" and "onnx definition" in refused.reason


def test_inductor_freezing_freezes_the_weights_for_the_first_call_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    import torch._inductor.config as inductor_config
    import torch._inductor.freezing as freezing

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))  # a cold compile, not a cache hit
    frozen = []
    real_freeze = freezing.freeze
    # compile_fx imports freeze when it compiles a frozen graph: a call here is Inductor freezing the weights.
    monkeypatch.setattr(freezing, "freeze", lambda *a, **k: frozen.append(1) or real_freeze(*a, **k))

    workload = get_workload("mlp")  # has weights to freeze
    case = workload.case(workload.tiny_case)
    inputs = workload.make_inputs(case)
    task = Task(workload, case, "freezing", inputs, 2, workdir=tmp_path / "work", cache_dir=tmp_path / "cache")
    prepared = get_backend("inductor").prepare(task)
    output = prepared.fetch(prepared.run())
    assert prepared.after_first_run is not None
    prepared.details.update(prepared.after_first_run())
    assert verify(output, workload.reference(case, inputs), workload.reduction_length(case)).passed
    assert prepared.details["freezing"] is True and prepared.details["grad_enabled_at_compile"] is False
    assert frozen == [1]
    # Warm runs reuse the frozen graph (no recompile outside the patch), and the patch did not outlive the call.
    prepared.run()
    prepared.run()
    assert frozen == [1] and inductor_config.freezing is False
    assert not torch.is_inference_mode_enabled()


def test_inductor_expert_variant_verifies_through_the_runner(tmp_path: Path) -> None:
    # freezing-max-autotune differs only in the mode, and max-autotune alone has its own test (test_backends.py);
    # its compile through the runner costs a minute here.
    assert MODES["freezing-max-autotune"] == ("max-autotune", True)
    variant, workload, mode = "freezing", "mlp", "default"  # a model: it has weights to freeze
    result = run_tiny("inductor", variant, workload, tmp_path)
    assert result["status"] == "ok", f"{result['status']}: {result['reason']}\n{result.get('traceback', '')}"
    details = result["details"]
    assert details["freezing"] is True and details["mode"] == mode
    assert details["paths"] == [EXPERT]
    assert "torch._inductor.config.freezing" in {s["name"] for s in details["settings"]}


def test_inductor_stock_record_says_not_frozen(tmp_path: Path) -> None:
    result = run_tiny("inductor", "default", "matmul", tmp_path)
    assert result["status"] == "ok", result.get("reason")
    # On an operator no freezing variant is offered (nothing to freeze): its defaults are both paths.
    assert result["details"]["freezing"] is False and result["details"]["paths"] == [STOCK, EXPERT]
    assert result["details"]["settings"] == []


@pytest.mark.parametrize("variant", ["onnx-O2", "stablehlo-O2"])
def test_iree_o2_tiny_matmul(variant: str, tmp_path: Path) -> None:
    _need("iree.compiler", "iree.runtime", *(("onnxscript",) if variant == "onnx-O2" else ("jax",)))
    details = _prepare_tiny("iree", variant, 1, tmp_path).details
    flags = details["compile_flags"]
    assert {"--iree-llvmcpu-target-cpu=host", "--iree-opt-level=O2", "--iree-opt-data-tiling"} <= set(flags)
    assert details["frontend"] == variant.removesuffix("-O2")
    assert details["input_type"] == details["frontend"]


def test_iree_stock_compiles_without_o2(tmp_path: Path) -> None:
    _need("iree.compiler", "iree.runtime", "jax")
    assert _prepare_tiny("iree", "stablehlo", 1, tmp_path).details["compile_flags"] == [
        "--iree-llvmcpu-target-cpu=host"]


def test_iree_o2_record_carries_paths_and_settings(tmp_path: Path) -> None:
    result = run_tiny("iree", "stablehlo-O2", "mlp", tmp_path)
    assert result["status"] == "ok", f"{result['status']}: {result['reason']}\n{result.get('traceback', '')}"
    assert result["verification"]["passed"]
    details = result["details"]
    assert details["paths"] == [EXPERT]
    assert {s["name"] for s in details["settings"]} >= {"--iree-opt-level", "--iree-opt-data-tiling"}
    assert "--iree-opt-data-tiling" in details["compile_flags"]
