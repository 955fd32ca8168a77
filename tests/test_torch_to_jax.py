"""The torch -> JAX bridge (backends/torch_to_jax): small torch modules through torch.export and the ATen
lowerings match torch, an op without a lowering is refused by name, and XLA and IREE's StableHLO path run a
torch-only workload through it (recording that they did) while hand-written JAX definitions stay the default."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest

from backends import CellRequest, Unsupported, get_backend
from backends.base import Task
from backends.jax_definition import BRIDGE, HAND_WRITTEN
from backends.torch_to_jax import UnsupportedOp, bridge
from models import get_workload
from models.network import ModelWorkload
from models.workload import Case, Shape
from suites.tolerance import verify

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
nn = torch.nn
VOCAB, WIDTH, HEADS = 50, 32, 4


def run_bridge(module: Any, *inputs: np.ndarray) -> np.ndarray:
    bridged = bridge(module.eval(), inputs)
    return np.asarray(jax.jit(bridged.fn)(bridged.params, *inputs))


def run_torch(module: Any, *inputs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module.eval()(*(torch.from_numpy(a) for a in inputs)).numpy()


def assert_close(module: Any, *inputs: np.ndarray) -> None:
    ref = run_torch(module, *inputs)
    out = run_bridge(module, *inputs)
    assert out.shape == ref.shape
    assert np.max(np.abs(out - ref)) <= 1e-5 * max(1.0, float(np.max(np.abs(ref))))


def seeded(factory: Any) -> Any:
    torch.manual_seed(0)
    module = factory()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so a dropped mean or variance shows
        for layer in module.modules():
            if isinstance(layer, nn.BatchNorm2d):
                layer.running_mean.uniform_(-0.5, 0.5)
                layer.running_var.uniform_(0.5, 1.5)
                layer.weight.uniform_(0.5, 1.5)
    return module


class ConvNet(nn.Module):
    """Convolutions with stride, padding, dilation and groups, BN, both pools (ceil mode, padding), a transposed
    convolution and an adaptive pool whose bins are unequal."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.depthwise = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8, bias=False)
        self.grouped = nn.Conv2d(8, 12, 1, groups=4)
        self.up = nn.ConvTranspose2d(12, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.act = nn.Hardswish()

    def forward(self, x: Any) -> Any:
        x = self.stem(x)
        x = nn.functional.max_pool2d(x, 3, 2, padding=1, ceil_mode=True)
        x = self.act(self.grouped(self.depthwise(x)))
        x = nn.functional.avg_pool2d(x, 3, 1, padding=1, count_include_pad=False)
        x = torch.sigmoid(self.up(x))
        return nn.functional.adaptive_avg_pool2d(x, (5, 3)).flatten(1)


class Block(nn.Module):
    """A pre-norm transformer block over int64 token ids: embeddings, causal attention, a GELU MLP."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, WIDTH)
        self.positions = nn.Embedding(16, WIDTH)
        self.norm1, self.norm2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.qkv, self.proj = nn.Linear(WIDTH, 3 * WIDTH), nn.Linear(WIDTH, WIDTH)
        self.mlp = nn.Sequential(nn.Linear(WIDTH, 2 * WIDTH), nn.GELU(approximate="tanh"), nn.Linear(2 * WIDTH, WIDTH))

    def forward(self, ids: Any) -> Any:
        batch, seq = ids.shape
        x = self.tokens(ids) + self.positions(torch.arange(seq))
        q, k, v = self.qkv(self.norm1(x)).view(batch, seq, 3, HEADS, -1).permute(2, 0, 3, 1, 4).unbind(0)
        attn = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(attn.transpose(1, 2).reshape(batch, seq, WIDTH))
        x = x + self.mlp(self.norm2(x))
        # Padding id 0 masked out of a running mean: masked_fill, cumsum and an int -> float conversion.
        keep = (ids != 0).unsqueeze(-1)
        running = torch.cumsum(x.masked_fill(~keep, 0.0), dim=1) / torch.cumsum(keep.float(), dim=1).clamp(min=1)
        return torch.where(keep, x, running)


def token_ids(batch: int = 2, seq: int = 10) -> np.ndarray:
    ids = np.random.default_rng(0).integers(0, VOCAB, (batch, seq)).astype(np.int64)
    ids[:, ::4] = 0
    return ids


def test_conv_net_matches_torch() -> None:
    x = np.random.default_rng(1).standard_normal((2, 3, 19, 17), dtype=np.float32)
    assert_close(seeded(ConvNet), x)


def test_transformer_block_with_int64_tokens_matches_torch() -> None:
    assert_close(seeded(Block), token_ids())


def test_layernorm_and_attention_match_torch() -> None:
    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(WIDTH, elementwise_affine=False)
            self.attn = nn.MultiheadAttention(WIDTH, HEADS, batch_first=True)

        def forward(self, x: Any, mask: Any) -> Any:
            y = self.norm(x)
            return self.attn(y, y, y, attn_mask=mask, need_weights=False)[0].softmax(-1)

    x = np.random.default_rng(2).standard_normal((2, 6, WIDTH), dtype=np.float32)
    mask = np.triu(np.full((6, 6), -1e4, np.float32), 1)
    assert_close(seeded(Attention), x, mask)


def test_an_op_without_a_lowering_is_named() -> None:
    class TopK(nn.Module):
        def forward(self, x: Any) -> Any:
            return torch.topk(x.relu(), 2).values

    with pytest.raises(UnsupportedOp, match=r"no JAX lowering for aten\.topk") as caught:
        bridge(TopK(), (np.ones((3, 4), np.float32),))
    assert caught.value.ops == ("aten.topk.default",)


class TorchOnlyModel(ModelWorkload):
    """A model with only a torch definition and int64 token-id inputs, as the model zoo's transformers have."""

    name = "torch-only-test-model"
    description = "a transformer block over token ids, torch only"
    definitions = ("torch",)
    cases = (Case.of("t", batch=2, seq=10),)
    default_cases = quick_cases = ("t",)
    tiny_case = "t"
    block: Any = Block

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return ((case["batch"], case["seq"]),)

    def output_shape(self, case: Case) -> Shape:
        return (case["batch"], case["seq"], WIDTH)

    def make_inputs(self, case: Case, seed: int = 0) -> tuple[np.ndarray, ...]:
        return (token_ids(case["batch"], case["seq"]),)

    def build_module(self, case: Case) -> Any:
        return self.block()

    def jax_apply(self, params: dict[str, Any], case: Case, *inputs: Any) -> Any:
        raise NotImplementedError("torch only")

    def reference(self, case: Case, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
        module = _float64_copy(self, case)
        with torch.no_grad():
            return module(*(torch.from_numpy(a) for a in inputs)).numpy()

    def reduction_length(self, case: Case) -> int:
        return 4 * WIDTH


@functools.cache
def _float64_copy(workload: ModelWorkload, case: Case) -> Any:
    import copy

    return copy.deepcopy(workload.torch_module(case)).double()


def _prepare(backend: str, variant: str, workload: Any, tmp_path: Any, dtype: str = "float32") -> dict[str, Any]:
    case = workload.case(workload.tiny_case)
    inputs = workload.make_inputs(case)
    assert get_backend(backend).skip(CellRequest(workload, case, variant, "cpu", dtype)) is None
    # One thread: IREE's driver keeps the worker count of the first cell in a process, and the other in-process
    # IREE tests (which may share this pytest worker) use one.
    task = Task(workload, case, variant, inputs, 1, dtype=dtype, workdir=tmp_path / variant)
    prepared = get_backend(backend).prepare(task)
    verdict = verify(prepared.fetch(prepared.run()), workload.reference(case, inputs), workload.reduction_length(case),
                     dtype)
    assert verdict.passed, f"{backend}/{variant}/{dtype}: {verdict.detail}"
    return prepared.details


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_xla_runs_a_torch_only_model_through_the_bridge(dtype: str, tmp_path: Any) -> None:
    details = _prepare("xla", "default", TorchOnlyModel(), tmp_path, dtype)
    assert details["jax_definition"] == BRIDGE
    assert {"aten.embedding.default", "aten.native_layer_norm.default"} <= set(details["bridge_aten_ops"])


def test_iree_stablehlo_runs_a_torch_only_model_through_the_bridge(tmp_path: Any) -> None:
    details = _prepare("iree", "stablehlo", TorchOnlyModel(), tmp_path)
    assert details["jax_definition"] == BRIDGE and details["frontend"] == "stablehlo"


def test_hand_written_jax_stays_the_default(tmp_path: Any) -> None:
    assert _prepare("xla", "default", get_workload("mlp"), tmp_path)["jax_definition"] == HAND_WRITTEN


class WithTopK(nn.Module):
    def forward(self, ids: Any) -> Any:
        return torch.topk(ids.float(), 2).values


class TopKModel(TorchOnlyModel):
    name = "torch-only-test-model-topk"  # its own name: modules are cached by workload name
    block = WithTopK


def test_a_bridge_failure_is_an_unsupported_cell_naming_the_op(tmp_path: Any) -> None:
    workload = TopKModel()
    case = workload.case("t")
    task = Task(workload, case, "default", workload.make_inputs(case), 1, workdir=tmp_path)
    with pytest.raises(Unsupported, match=r"torch->JAX bridge: no JAX lowering for aten\.topk"):
        get_backend("xla").prepare(task)
