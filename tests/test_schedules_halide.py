"""Halide: the hand schedule and every autoscheduler verify on small matmul and conv2d shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import CellRequest, get_backend
from models import get_workload
from tests.schedule_helpers import THREADS, prepare_and_verify, small_cases

backend = get_backend("halide")
pytestmark = pytest.mark.skipif(backend.missing_requirement is not None, reason=str(backend.missing_requirement))


@pytest.fixture(autouse=True)
def halide_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in backend.thread_env(THREADS).items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize("workload", ["matmul", "conv2d"])
@pytest.mark.parametrize("variant", ["hand", "adams2019", "li2018", "mullapudi2016"])
def test_variant_verifies(variant: str, workload: str, tmp_path: Path) -> None:
    for case in small_cases(workload):
        prepared, verdict = prepare_and_verify("halide", variant, workload, case, tmp_path)
        assert verdict.passed, f"{variant} on {case.label}: {verdict.detail}"
        details = prepared.details
        assert "for" in details["stmt"]  # the lowered loop nest is kept for the report
        if variant == "hand":
            assert details["autoschedule_s"] == 0.0
        else:
            assert details["autoschedule_s"] > 0 and details["schedule"].strip()
            assert details["autoscheduler_params"] == {"parallelism": str(THREADS)}


def test_variants_and_reasons() -> None:
    matmul, softmax = get_workload("matmul"), get_workload("softmax")
    assert backend.variants_for(matmul, matmul.case("1024x1024x1024")) == backend.variants
    assert backend.variants_for(matmul, matmul.case("64x64x64")) == ()
    assert backend.skip(CellRequest(softmax, softmax.cases[0], "hand", "cpu"))
    assert backend.capabilities.suites == ("schedules",)
