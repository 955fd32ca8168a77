"""Whole-network models: the torch module, its float64 reference and the JAX definition agree, on the same weights.

Every registered workload of kind "model" is covered. Only tiny cases are computed; full-size cases are only
counted (FLOPs and parameters, on the meta device) against figures derived independently below.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models import WORKLOAD_MODULES, get_workload, workload_names
from models.network import ModelWorkload, _seeded_module
from models.workload import Case
from suites.tolerance import tolerance

# Built-in models only: a user's model (registered while MLCOMPARE_USER_MODEL is set) has no JAX definition.
MODEL_NAMES = [name for name in workload_names() if name in WORKLOAD_MODULES and get_workload(name).kind == "model"]
REPO = Path(__file__).resolve().parents[1]


@functools.cache
def tiny(name: str) -> tuple[ModelWorkload, Case, tuple[np.ndarray, ...], np.ndarray, float]:
    """The workload, its tiny case, seed-0 inputs, the float64 reference and the float32 tolerance."""
    workload = get_workload(name)
    assert isinstance(workload, ModelWorkload)
    case = workload.case(workload.tiny_case)
    inputs = workload.make_inputs(case, seed=0)
    return workload, case, inputs, workload.reference(case, inputs), tolerance(workload.reduction_length(case))


def normalised_error(out: Any, ref: np.ndarray) -> float:
    """The suite's error measure: max|out - ref| / max|ref|."""
    return float(np.max(np.abs(np.asarray(out, dtype=np.float64) - ref)) / np.max(np.abs(ref)))


def test_every_model_is_discovered() -> None:
    assert {"mlp", "resnet18", "mobilenet_v2", "bert_encoder", "gpt_decoder"} <= set(MODEL_NAMES)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_torch_float32_matches_float64_reference(name: str) -> None:
    torch = pytest.importorskip("torch")
    workload, case, inputs, ref, tol = tiny(name)
    with torch.no_grad():
        out = workload.torch_forward(case, *(torch.from_numpy(a) for a in inputs)).numpy()
    assert out.dtype == np.float32 and out.shape == workload.output_shape(case) == ref.shape
    assert normalised_error(out, ref) <= tol


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_reference_is_not_degenerate(name: str) -> None:
    _, _, _, ref, _ = tiny(name)
    assert ref.dtype == np.float64 and np.all(np.isfinite(ref))
    # A vanishing or constant output would let a wrong definition pass the normalised-error check.
    assert np.max(np.abs(ref)) > 1e-3 and np.std(ref) > 1e-3


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_output_depends_on_the_input(name: str) -> None:
    """Signal survives the depth: if the output were (nearly) input-independent, a broken early layer would pass."""
    workload, case, _, ref, tol = tiny(name)
    other = workload.reference(case, workload.make_inputs(case, seed=1))
    assert normalised_error(other, ref) > 100 * tol


def _jax_cpu() -> Any:
    jax = pytest.importorskip("jax")
    return jax, jax.devices("cpu")[0]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_jax_jit_matches_reference(name: str) -> None:
    """The independent JAX definition, weights closed over as constants (as the XLA backend runs it)."""
    jax, cpu = _jax_cpu()
    workload, case, inputs, ref, tol = tiny(name)
    with jax.default_device(cpu):
        out = np.asarray(jax.jit(lambda *xs: workload.jax_forward(case, *xs))(*inputs))
    assert out.dtype == np.float32 and out.shape == ref.shape
    assert normalised_error(out, ref) <= tol


# Exact invariances, not gaps: a bias on the keys adds q.b_k to a whole row of scores, which softmax ignores.
INERT_WEIGHTS: dict[str, tuple[str, ...]] = {"bert_encoder": (".key.bias",)}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_jax_definition_reads_every_weight(name: str) -> None:
    """The agreement test has teeth: zeroing any weight (as a JAX definition that skipped a bias or a BN statistic
    would) or transposing a square one (a wrong layout) moves the JAX output beyond the tolerance."""
    jax, cpu = _jax_cpu()
    workload, case, inputs, ref, tol = tiny(name)
    params = workload.params(case)
    # Weights as arguments this time, so that one compilation serves every mutation.
    apply = jax.jit(lambda p, *xs: workload.jax_apply(p, case, *xs))
    with jax.default_device(cpu):
        assert normalised_error(apply(params, *inputs), ref) <= tol
        inert = [key for key in params if key.endswith(INERT_WEIGHTS.get(name, ()))]
        assert len(inert) <= case.as_dict().get("layers", 0)
        for key, value in params.items():
            if key in inert:
                continue
            mutations = {"zeroed": np.zeros_like(value)}
            if value.ndim >= 2 and value.shape[-1] == value.shape[-2] > 1:
                mutations["transposed"] = np.ascontiguousarray(np.swapaxes(value, -1, -2))
            for how, mutated in mutations.items():
                error = normalised_error(apply({**params, key: mutated}, *inputs), ref)
                assert error > tol, f"{key} {how}: error {error:.3g} still within tolerance {tol:.3g}"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_counts_of_tiny_case(name: str) -> None:
    workload, case, _, _, _ = tiny(name)
    module = workload.torch_module(case)
    assert workload.flops(case) > 0
    assert workload.parameter_count(case) == sum(p.numel() for p in module.parameters())
    assert workload.reduction_length(case) >= 1


def _transformer_flops(layers: int, batch: int, seq: int, hidden: int, ffn: int) -> float:
    """Linears (q, k, v, out: 4 h^2; FFN: 2 h ffn) and the two attention matmuls (2 s^2 h), 2 FLOPs per MAC."""
    return 2.0 * layers * batch * seq * (4 * hidden * hidden + 2 * hidden * ffn + 2 * seq * hidden)


def _transformer_params(layers: int, hidden: int, ffn: int, final_norm: bool) -> int:
    per_layer = 4 * (hidden * hidden + hidden) + 2 * hidden * ffn + ffn + hidden + 2 * 2 * hidden
    return layers * per_layer + (2 * hidden if final_norm else 0)


# (FLOPs within 1%, exact parameters). CNNs: torchvision's published figures (ResNet-18 1.814 GMAC, 11,689,512
# parameters; MobileNetV2 300.8 MMAC, 3,504,872); FLOPs count convolutions and Linears only, as FlopCounterMode.
KNOWN_COUNTS = {
    ("resnet18", "b1"): (2 * 1.814e9, 11_689_512),
    ("resnet18", "b8"): (8 * 2 * 1.814e9, 11_689_512),
    ("mobilenet_v2", "b1"): (2 * 300.8e6, 3_504_872),
    ("bert_encoder", "L1-s128"): (_transformer_flops(1, 1, 128, 768, 3072), 7_087_872),
    ("bert_encoder", "L4-s128"): (_transformer_flops(4, 1, 128, 768, 3072), _transformer_params(4, 768, 3072, False)),
    ("gpt_decoder", "s128"): (_transformer_flops(4, 1, 128, 512, 2048), _transformer_params(4, 512, 2048, True)),
    ("gpt_decoder", "s512"): (_transformer_flops(4, 1, 512, 512, 2048), _transformer_params(4, 512, 2048, True)),
    ("mlp", "b1"): (2 * 2 * 1024 * 4096, 1024 * 4096 + 4096 + 4096 * 1024 + 1024),
    ("mlp", "b32"): (2 * 32 * 2 * 1024 * 4096, 1024 * 4096 + 4096 + 4096 * 1024 + 1024),
}


def test_known_counts_cover_every_full_size_case() -> None:
    for name in MODEL_NAMES:
        workload = get_workload(name)
        for label in workload.default_cases:
            assert (name, label) in KNOWN_COUNTS, f"no independent counts for {name} {label}"


@pytest.mark.parametrize(("name", "label"), list(KNOWN_COUNTS))
def test_full_size_counts_match_known_figures(name: str, label: str) -> None:
    flops, params = KNOWN_COUNTS[name, label]
    workload = get_workload(name)
    case = workload.case(label)
    assert workload.flops(case) == pytest.approx(flops, rel=0.01)
    assert workload.parameter_count(case) == params
    assert workload.bytes_moved(case) > 4.0 * params


def _weights_digest(name: str) -> str:
    workload = get_workload(name)
    case = workload.case(workload.tiny_case)
    digest = hashlib.sha256()
    for key, value in sorted(workload.params(case).items()):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(value, dtype=np.float32).tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_weights_do_not_depend_on_the_global_rng(name: str) -> None:
    torch = pytest.importorskip("torch")
    workload, case, _, _, _ = tiny(name)
    cached = workload.torch_module(case).state_dict()
    # _seeded_module is cached, so rebuild it through the uncached function, from a different global RNG state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(99)
        torch.rand(17)
        fresh = _seeded_module.__wrapped__(workload, case).state_dict()
    assert cached.keys() == fresh.keys()
    assert all(torch.equal(cached[key], fresh[key]) for key in cached)


def test_weights_are_the_same_in_another_process() -> None:
    """Cells compute outputs and references in separate subprocesses: the weights must not depend on the process."""
    pytest.importorskip("torch")
    script = (f"import json; from tests.test_model_defs import _weights_digest as d; "
              f"print(json.dumps({{n: d(n) for n in {MODEL_NAMES!r}}}))")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=300, check=True)
    other = json.loads(result.stdout.strip().splitlines()[-1])
    assert other == {name: _weights_digest(name) for name in MODEL_NAMES}
