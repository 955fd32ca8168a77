"""The llm suite on the tiny Llama: every decode path generates the float64 reference's ids, a wrong KV-cache
update is caught, and compilations are counted. Cells run in this process (suites.cell.run_cell), so torch and
transformers are imported once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backends import get_backend
from models import get_workload
from suites.cell import run_cell
from suites.generation_check import verify_generation
from suites.matrix import Selection, expand, resolve
from suites.rounds import merge_processes
from suites.stats import RepeatPolicy

ONCE = RepeatPolicy(min_runs=2, min_time_s=0.0, max_time_s=2.0, floor_runs=2)
FAKES = ("llm-test-fixed-cache=tests.llm_fake_backends:FixedCacheEagerBackend,"
         "llm-test-dropped-entry=tests.llm_fake_backends:DroppedCacheEntryBackend")
# (backend, variant) -> compilations its decode path makes (prefill and decode graphs for the exported ones;
# Inductor compiles the decode step only)
BACKENDS = {("llm-torch-eager", "default"): 0, ("llm-inductor", "default"): 1, ("llm-onnxruntime", "default"): 2,
            ("llm-xla", "default"): 2, ("llm-iree", "stablehlo"): 2, ("llm-test-fixed-cache", "default"): 0}


@pytest.fixture(autouse=True)
def fake_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCOMPARE_EXTRA_BACKENDS", FAKES)


def tiny_cell(backend: str, tmp_path: Path, variant: str = "default") -> dict[str, Any]:
    spec = {"backend": backend, "variant": variant, "workload": "llama", "case": "tiny", "threads": 1, "seed": 0,
            "device": "cpu", "dtype": "float32", "repeat_policy": vars(ONCE), "workdir": str(tmp_path / "work"),
            "cache_dir": str(tmp_path / "cache"), "artifact_dir": str(tmp_path / "artifacts")}
    tmp_path.mkdir(parents=True, exist_ok=True)
    return run_cell(spec, tmp_path / "phase")


@pytest.mark.parametrize(("backend", "variant"), list(BACKENDS))
def test_every_decode_path_generates_the_reference_ids(backend: str, variant: str, tmp_path: Path) -> None:
    result = tiny_cell(backend, tmp_path, variant)
    assert result["status"] == "ok", f"{result['status']}: {result['reason']}\n{result.get('traceback', '')}"
    assert result["verification"]["passed"] and result["verification"]["error"] < 1e-5
    llm = result["llm"]
    assert llm["prompt_tokens"] == 8 and llm["new_tokens"] == 6
    assert llm["prefill_samples_s"] and all(s > 0 for s in llm["decode_step_samples_s"])
    assert llm["recompilations"] == 0 and llm["compilations"] == BACKENDS[backend, variant]
    assert result["details"]["kv_bytes_per_token"] == 2 * 2 * 2 * 8 * 4  # K and V, 2 layers, 2 KV heads, dim 8
    if backend == "llm-torch-eager":  # the counts behind gflops and the record's params are the model's own
        from models.llm import llama_model

        workload = get_workload("llama")
        case = workload.case("tiny")
        assert workload.parameter_count(case) == sum(p.numel() for p in llama_model(case).parameters())


def test_inductor_counts_only_its_own_compilations(tmp_path: Path) -> None:
    import torch

    torch.compile(lambda x: x * 2 + 1)(torch.ones(3))  # an earlier graph in this process (xdist runs many tests)
    llm = tiny_cell("llm-inductor", tmp_path)["llm"]
    assert llm["compilations"] == 1 and llm["recompilations"] == 0


def test_the_record_pools_each_phase_over_the_processes(tmp_path: Path) -> None:
    processes = [tiny_cell("llm-test-fixed-cache", tmp_path / str(i)) for i in range(2)]
    merged = merge_processes(processes, "run/llm-test-fixed-cache/default/llama/tiny")["llm"]
    prefill = [s for p in processes for s in p["llm"]["prefill_samples_s"]]
    assert merged["prefill"]["n"] == len(prefill) and len(merged["prefill"]["processes"]) == 2
    assert merged["ttft_s"] == pytest.approx(float(np.median(prefill)))
    assert merged["prefill_tokens_per_s"] == pytest.approx(8 / merged["ttft_s"])
    assert merged["decode_tokens_per_s"] == pytest.approx(1 / merged["decode_step"]["median_s"])
    assert "prefill_samples_s" not in merged  # the samples live in the timing objects


def test_a_lost_kv_cache_update_is_a_wrong_result(tmp_path: Path) -> None:
    result = tiny_cell("llm-test-dropped-entry", tmp_path)
    assert result["status"] == "wrong_result", result.get("reason")
    assert result["verification"]["error"] > result["verification"]["tolerance"]


def test_different_ids_fail_even_within_the_logits_tolerance() -> None:
    reference = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 1.0 - 1e-7]])
    tied = reference.copy()
    tied[1, 2] = 1.0 + 1e-7  # a near tie decided the other way: logits within tolerance, another token
    assert verify_generation(reference.copy(), reference, 1000).passed
    verdict = verify_generation(tied, reference, 1000)
    assert not verdict.passed and "token 1 is 2" in verdict.detail


def test_the_llm_suite_has_its_own_backends_and_workload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLCOMPARE_EXTRA_BACKENDS")
    selection = resolve(Selection(suite="llm", scope="default"))
    assert selection.workloads == ("llama",) and "llm-torch-eager" in selection.backends
    assert "torch-eager" not in selection.backends  # the other suites' adapters
    cells = expand(selection)
    assert {c.cell.case for c in cells} == {"p128", "p512"}
    refused = {c.cell.backend for c in cells if c.skip_status}
    assert refused == {"llm-tvm"} and all("MLC LLM" in c.reason for c in cells if c.skip_status)
    matmul = get_workload("matmul")
    skip = get_backend("llm-torch-eager").skip(  # an operator is no LLM
        __import__("backends").CellRequest(matmul, matmul.case(matmul.tiny_case), "default"))
    assert skip is not None and "llm" in skip.reason
