"""TVM's torch frontend with mlcompare's converters follows torch's dtype promotion (a bool cumsum counts in int64)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tvm = pytest.importorskip("tvm")

from backends.tvm.torch_converters import CONVERTERS  # noqa: E402


class PackedSequenceIndex(torch.nn.Module):
    """transformers' find_packed_sequence_indices: a new sequence starts where positions stop counting by one."""

    def forward(self, positions: Any) -> Any:
        diff = torch.diff(positions, prepend=positions[:, :1] - 1, dim=-1)
        return (diff != 1).cumsum(-1)


def _compiled(positions: Any, converters: dict[str, Any] | None) -> Any:
    from tvm.relax.frontend.torch import from_exported_program
    from tvm.runtime.vm import VirtualMachine

    exported = torch.export.export(PackedSequenceIndex(), (positions,))
    mod = from_exported_program(exported, custom_convert_map=converters)
    vm = VirtualMachine(tvm.compile(mod, "llvm"), tvm.cpu())
    result = vm["main"](tvm.runtime.tensor(positions.numpy(), tvm.cpu()))
    return result if hasattr(result, "numpy") else result[0]  # one output, or a one-element tuple


def test_a_bool_cumsum_compiles_and_counts_like_torch() -> None:
    positions = torch.tensor([[0, 1, 2, 0, 1, 0, 1, 2]])
    expected = PackedSequenceIndex()(positions)
    assert expected.dtype == torch.int64 and expected.tolist() == [[0, 0, 0, 1, 1, 2, 2, 2]]
    got = _compiled(positions, CONVERTERS).numpy()
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected.numpy())


def test_without_the_converter_tvm_keeps_the_bool_and_fails_to_compile() -> None:
    with pytest.raises(tvm.error.InternalError, match="kDLFloat"):  # the GPT-2 and SmolLM compile_error
        _compiled(torch.tensor([[0, 1, 2, 0]]), None)
