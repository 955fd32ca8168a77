"""The model zoo: every entry builds at its published size, weights are seeded, integer inputs stay integer from
make_inputs through the reference and the backends, and two tiny zoo models verify through the cell path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backends import get_backend
from backends.base import Task
from backends.precision import round_inputs
from backends.torch_common import torch_inputs
from models import WORKLOAD_MODULES, get_workload, workload_names
from models.network import _seeded_module
from models.zoo import ZOO, ZooModel
from models.zoo.entry import DEFAULT, TINY
from suites.matrix import Cell, Selection, expand, resolve
from suites.runner import CellOptions, run_cell_isolated
from suites.stats import RepeatPolicy

ONCE = RepeatPolicy(min_runs=1, min_time_s=0.0, max_time_s=1.0, floor_runs=1)
# Parameters at the real-size case. torchvision: the figures its model docs publish. transformers: the published
# models' sizes (BERT-base 109,482,240 and RoBERTa-base 124,645,632 less their 590,592-parameter pooler, which the
# zoo leaves out); T5-small's encoder and Whisper-tiny's encoder counted by hand from their configs.
KNOWN_PARAMS = {
    "resnet50": 25_557_032, "mobilenet_v3_large": 5_483_032, "efficientnet_b0": 5_288_548,
    "convnext_tiny": 28_589_128, "regnet_y_400mf": 4_344_144, "vit_b_16": 86_567_656, "swin_t": 28_288_354,
    "densenet121": 7_978_856, "squeezenet1_1": 1_235_496, "shufflenet_v2_x1_0": 2_278_604,
    "bert_base": 109_482_240 - 590_592, "distilbert": 66_362_880, "roberta_base": 124_645_632 - 590_592,
    "gpt2": 124_439_808, "smollm_135m": 134_515_008,
    # 16,449,536 embedding + 6 x 3,146,752 per layer + 256 relative-position bias + 512 final norm.
    "t5_small_encoder": 35_330_816,
    # convs 92,544 + 442,752, positions 576,000, 4 x 1,774,080 per layer, final norm 768.
    "whisper_tiny_encoder": 8_208_384,
}
TINY_CNN, TINY_TRANSFORMER = "zoo.squeezenet1_1", "zoo.gpt2"


def test_the_zoo_is_registered_as_its_own_suite() -> None:
    assert len(ZOO) >= 15 and set(KNOWN_PARAMS) == set(ZOO)
    names = [n for n in workload_names() if n.startswith("zoo.")]
    assert names == [f"zoo.{key}" for key in ZOO] and not set(names) & set(WORKLOAD_MODULES)
    planned = expand(resolve(Selection(suite="zoo")))
    assert {p.cell.workload for p in planned} == set(names) and {p.cell.case for p in planned} == {DEFAULT}
    # Only a torch definition: XLA and IREE's StableHLO path run it through the torch.export bridge.
    jax_paths = [p for p in planned if p.cell.backend == "xla" or p.cell.variant.startswith("stablehlo")]
    assert jax_paths and all(p.skip_status is None for p in jax_paths)
    assert any(p.skip_status is None for p in planned if p.cell.backend == "onnxruntime")
    quick = {p.cell.workload for p in expand(resolve(Selection(suite="zoo", scope="quick")))}
    assert 2 <= len(quick) < len(names)
    models_suite = {p.cell.workload for p in expand(resolve(Selection(suite="models", scope="full")))}
    assert not models_suite & set(names)  # the zoo never grows the models suite


@pytest.mark.parametrize("key", list(ZOO))
def test_every_entry_builds_at_its_published_size(key: str) -> None:
    torch = pytest.importorskip("torch")
    entry = ZOO[key]
    workload = get_workload(f"zoo.{key}")
    assert isinstance(workload, ZooModel) and workload.definitions == ("torch",)
    assert [c.label for c in workload.cases] == [DEFAULT, TINY] and workload.case(DEFAULT)["batch"] == 1
    try:
        with torch.device("meta"):  # the architecture without drawing a weight
            module = entry.build(workload.case(DEFAULT))
    except NotImplementedError:  # a factory that computes its widths with tensors (RegNet): built for real
        module = entry.build(workload.case(DEFAULT))
    assert sum(p.numel() for p in module.parameters()) == KNOWN_PARAMS[key]
    expected = {"image": np.float32, "tokens": np.int64, "audio": np.float32}[entry.inputs]
    assert workload.input_dtypes(workload.case(DEFAULT)) == (np.dtype(expected),)


def _digest(module: Any) -> list[Any]:
    return [t.clone() for t in module.state_dict().values()]


@pytest.mark.parametrize("name", [TINY_CNN, TINY_TRANSFORMER])
def test_weights_are_seeded_and_look_trained(name: str) -> None:
    torch = pytest.importorskip("torch")
    workload = get_workload(name)
    case = workload.case(TINY)
    cached = _digest(workload.torch_module(case))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(99)  # another global RNG state must not change the weights
        again = _digest(_seeded_module.__wrapped__(workload, case))
    assert len(cached) == len(again) and all(torch.equal(a, b) for a, b in zip(cached, again, strict=True))
    assert all(t.any() for t in cached if t.is_floating_point())  # no all-zero weight: a dropped one would show
    # Signal survives the depth: another input moves the output far beyond any tolerance.
    first, second = (workload.reference(case, workload.make_inputs(case, seed)) for seed in (0, 1))
    assert np.max(np.abs(first - second)) / np.max(np.abs(first)) > 0.01


def test_integer_inputs_stay_integer() -> None:
    torch = pytest.importorskip("torch")
    workload = get_workload(TINY_TRANSFORMER)
    case = workload.case(TINY)
    (ids,) = workload.make_inputs(case, seed=0)
    assert ids.dtype == np.int64 and ids.shape == (case["batch"], case["seq"])
    assert 0 <= ids.min() and ids.max() < case["vocab"] and len(np.unique(ids)) > 1
    (reference_ids,) = workload.reference_inputs(case, (ids,))
    assert reference_ids.dtype == np.int64 and np.array_equal(reference_ids, ids)
    assert workload.reference(case, (ids,)).dtype == np.float64
    for precision in ("float16", "bfloat16"):  # precision variants round values, never indices
        assert round_inputs((ids,), precision)[0] is ids
    task = Task(workload, case, "default", (ids,), threads=1, dtype="bfloat16")
    (tensor,) = torch_inputs(task)
    assert tensor.dtype == torch.int64 and torch.equal(tensor, torch.from_numpy(ids))


def test_a_wrongly_cast_integer_input_is_caught(tmp_path: Path) -> None:
    workload = get_workload(TINY_TRANSFORMER)
    case = workload.case(TINY)
    (ids,) = workload.make_inputs(case, seed=0)
    as_float = ids.astype(np.float32)
    with pytest.raises(TypeError, match="integer inputs must stay integer"):
        workload.reference(case, (as_float,))
    # A backend handed float ids cannot run the model either (an embedding takes indices).
    task = Task(workload, case, "default", (as_float,), threads=1, workdir=tmp_path)
    prepared = get_backend("torch-eager").prepare(task)
    with pytest.raises(RuntimeError, match=r"(?i)long|int"):
        prepared.run()


@pytest.mark.parametrize("name", [TINY_CNN, TINY_TRANSFORMER])
@pytest.mark.parametrize("backend", ["torch-eager", "onnxruntime"])
def test_tiny_zoo_models_verify_through_the_cell_path(backend: str, name: str, tmp_path: Path) -> None:
    options = CellOptions(threads=2, timeout_s=300, repeats=1, repeat_policy=ONCE, cache_dir=str(tmp_path))
    result = run_cell_isolated(Cell(backend, "default", name, TINY), options)
    assert result["status"] == "ok", f"{result['status']}: {result['reason']}\n{result.get('traceback', '')}"
    assert result["verification"]["passed"] and result["verification"]["error"] > 0
