"""Matrix expansion: the cartesian product, filtered with a reason for every cell that cannot run."""

from __future__ import annotations

import pytest

from suites.matrix import Selection, SelectionError, case_labels, expand, resolve


@pytest.mark.usefixtures("fake_backends")
def test_expand_is_the_full_product_with_reasons() -> None:
    selection = resolve(Selection(backends=("numpy", "fake-uninstalled", "triton", "tvm"),
                                  workloads=("matmul", "conv2d"), scope="quick"))
    planned = expand(selection)
    # 2 workloads x 1 quick case x (numpy + uninstalled + triton + tvm's 2 variants)
    assert len(planned) == 2 * 5
    assert len({p.cell.key for p in planned}) == len(planned)
    by_key = {p.cell.key: p for p in planned}
    uninstalled = by_key["fake-uninstalled/default/matmul/256x256x256"]
    assert uninstalled.skip_status == "unavailable" and "mlcompare_no_such_module" in uninstalled.reason
    assert by_key["triton/default/conv2d/1x128x28x28-o128-s1"].skip_status == "unsupported"
    assert "no Triton kernel for 'conv2d'" in by_key["triton/default/conv2d/1x128x28x28-o128-s1"].reason
    assert by_key["tvm/tuned/matmul/256x256x256"].skip_status is None
    assert by_key["numpy/default/conv2d/1x128x28x28-o128-s1"].skip_status is None


def test_empty_filters_mean_everything_and_scopes_nest() -> None:
    selection = resolve(Selection())
    assert "matmul" in selection.workloads and "tvm" in selection.backends
    for workload in selection.workloads:
        quick, default, full = (set(case_labels(workload, s)) for s in ("quick", "default", "full"))
        assert default <= full and quick <= full and quick and default
        assert not any(label.startswith("tiny") for label in full)


def test_unknown_names_are_rejected_with_the_valid_ones() -> None:
    with pytest.raises(SelectionError, match=r"unknown backend 'tvmm' \(valid: numpy, torch-eager"):
        resolve(Selection(backends=("tvmm",)))
    with pytest.raises(SelectionError, match="unknown scope"):
        resolve(Selection(scope="huge"))


def test_selection_survives_the_manifest_round_trip() -> None:
    selection = resolve(Selection(backends=("numpy",), workloads=("softmax",), scope="full"))
    assert Selection.from_json(selection.to_json()) == selection


def test_cases_filter_selects_exactly_those_cases_and_rejects_unknown_ones() -> None:
    selection = resolve(Selection(backends=("numpy",), workloads=("matmul", "softmax"), cases=("1024x1024x1024",)))
    assert [p.cell.key for p in expand(selection)] == ["numpy/default/matmul/1024x1024x1024"]
    with pytest.raises(SelectionError, match=r"unknown case 'b3'"):
        resolve(Selection(backends=("numpy",), workloads=("matmul",), cases=("b3",)))
    assert Selection.from_json(selection.to_json()) == selection


def test_variants_filter_narrows_only_the_backends_it_names() -> None:
    selection = resolve(Selection(suite="models", backends=("inductor", "torch-eager"), workloads=("mlp",),
                                  scope="quick", variants=("inductor/freezing",)))
    keys = sorted(p.cell.key.rsplit("/", 2)[0] for p in expand(selection))
    assert keys == ["inductor/freezing", "torch-eager/default"]
    assert Selection.from_json(selection.to_json()) == selection
    with pytest.raises(SelectionError, match=r"inductor has no variant 'fast' \(valid: default"):
        resolve(Selection(backends=("inductor",), variants=("inductor/fast",)))
    with pytest.raises(SelectionError, match=r"backend 'xla' is not selected"):
        resolve(Selection(backends=("inductor",), variants=("xla/default",)))
