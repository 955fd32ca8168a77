"""What a whole-network workload adds to an operator: trained-looking weights that live inside the model.

A model is defined once in torch (`build_module`, the source of truth: exporters and compilers take it) with
seeded weights, and once in JAX (`jax_apply`) reading the *same* weights from the torch state dict, so XLA and
IREE's StableHLO path compile an independent definition of the identical function. Weights are constants of
the model, not inputs: constant folding and BatchNorm folding are part of what a compiler is measured on.

- input:  the data tensor(s) only (images, embedded token sequences, or token ids), seeded standard normal (ids:
  uniform int64 in the vocabulary);
- reference: the same torch module in float64 (integer inputs stay integer: `reference`);
- counts: FLOPs from torch's FlopCounterMode on the meta device (matmuls and convolutions, a multiply-add
  counts 2), parameters from the module, bytes = inputs + output + weights read once;
- tolerance: the error budget grows with depth, so the reduction length is the sum of every layer's
  reduction length along the network (see `reduction_length`).
"""

from __future__ import annotations

import copy
import functools
from abc import abstractmethod
from typing import Any

import numpy as np

from models.workload import Case, Shape, Workload, is_integer

# Seed of every model's weights; inputs are seeded separately by the runner.
WEIGHT_SEED = 1234


class ModelWorkload(Workload):
    kind = "model"
    definitions = ("torch", "jax")

    # Equal by name, so the per-model caches below survive the registry handing out fresh instances.
    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and getattr(other, "name", None) == self.name

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name))

    @abstractmethod
    def build_module(self, case: Case) -> Any:
        """The torch nn.Module for this case (weights are drawn by the caller under a fixed seed)."""

    @abstractmethod
    def jax_apply(self, params: dict[str, Any], case: Case, *inputs: Any) -> Any:
        """The JAX definition, reading weights by their torch state-dict names from `params`."""

    def finish_weights(self, module: Any, case: Case) -> None:
        """After `build_module`, under the same seed: make the weights look trained (here: the norms' statistics)."""
        randomise_norm_statistics(module)

    def extra_reduction_length(self, case: Case) -> int:
        """Reductions that are not Linear/Conv layers (attention's q.k and p.v); added to the depth budget."""
        return 0

    # --- torch -------------------------------------------------------------------------------------
    def torch_module(self, case: Case) -> Any:
        return _seeded_module(self, case)

    def torch_forward(self, case: Case, *tensors: Any) -> Any:
        return self.torch_module(case)(*tensors)

    def numpy_forward(self, case: Case, *arrays: np.ndarray) -> np.ndarray:
        """The torch module run in the float inputs' dtype (float32 when every input is integer)."""
        floats = [a.dtype for a in arrays if not is_integer(a.dtype)]
        return self.run_module(case, arrays, floats[0] if floats else np.dtype(np.float32))

    def reference(self, case: Case, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
        """The module in float64 (weights and float inputs; token ids stay int64)."""
        return self.run_module(case, self.reference_inputs(case, inputs), np.dtype(np.float64))

    def reference_name(self, case: Case) -> str:
        return "torch float64"

    def run_module(self, case: Case, arrays: tuple[np.ndarray, ...], dtype: np.dtype) -> np.ndarray:
        """The torch module with its weights in `dtype` (float32 or float64) on `arrays`."""
        import torch

        torch_dtype = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}[np.dtype(dtype)]
        module = self.torch_module(case)
        if torch_dtype != torch.float32:
            module = copy.deepcopy(module).to(torch_dtype)
        with torch.no_grad():
            out = module(*(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays))
        return out.numpy()

    # --- JAX ---------------------------------------------------------------------------------------
    def params(self, case: Case) -> dict[str, np.ndarray]:
        """Every weight and buffer of the torch module as float32 NumPy arrays, by state-dict name."""
        return {k: v.detach().numpy().copy() for k, v in self.torch_module(case).state_dict().items()
                if v.is_floating_point()}

    def jax_forward(self, case: Case, *arrays: Any) -> Any:
        import jax.numpy as jnp

        # Closed over as constants, as a deployed JAX model holds its weights.
        params = {k: jnp.asarray(v) for k, v in self.params(case).items()}
        return self.jax_apply(params, case, *arrays)

    # --- counts ------------------------------------------------------------------------------------
    def flops(self, case: Case) -> float:
        return float(_counts(self, case)[0])

    def parameter_count(self, case: Case) -> int | None:
        return int(_counts(self, case)[1])

    def reduction_length(self, case: Case) -> int:
        return int(_counts(self, case)[2]) + self.extra_reduction_length(case)

    def bytes_moved(self, case: Case) -> float:
        return super().bytes_moved(case) + 4.0 * float(_counts(self, case)[1])

    def meta_output_shape(self, case: Case) -> Shape:
        """The output's shape, from a forward pass on the meta device (for models that do not state it)."""
        return _counts(self, case)[3]


@functools.cache
def _seeded_module(workload: ModelWorkload, case: Case) -> Any:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(WEIGHT_SEED)
        module = workload.build_module(case)
        workload.finish_weights(module, case)
    # Inference only: no autograd graph behind outputs (exporters and .numpy() expect none).
    return module.float().eval().requires_grad_(False)


def randomise_norm_statistics(module: Any) -> None:
    """Give BatchNorm/LayerNorm non-trivial affine weights and running statistics (seeded by the caller).

    Freshly built norms are identities (mean 0, var 1, weight 1, bias 0): BN folding would then fold nothing.
    """
    import torch

    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, torch.nn.BatchNorm2d | torch.nn.LayerNorm):
                if layer.weight is not None:
                    layer.weight.uniform_(0.5, 1.5)
                    layer.bias.uniform_(-0.2, 0.2)
            if isinstance(layer, torch.nn.BatchNorm2d):
                layer.running_mean.uniform_(-0.2, 0.2)
                layer.running_var.uniform_(0.5, 1.5)


def _layer_reduction_length(layer: Any) -> int:
    """Terms one output element of a weighted layer sums: Linear and convolutions, nn.MultiheadAttention's packed
    input projection, and Hugging Face's Conv1D (GPT-2's Linear, weight [in, out]); 0 for any other layer."""
    import torch

    if isinstance(layer, torch.nn.Linear):
        return int(layer.in_features)
    if isinstance(layer, torch.nn.Conv1d | torch.nn.Conv2d | torch.nn.Conv3d):
        return int(layer.in_channels // layer.groups * np.prod(layer.kernel_size))
    if isinstance(layer, torch.nn.MultiheadAttention):
        return int(layer.embed_dim)  # in_proj (out_proj is a Linear, counted on its own)
    if type(layer).__name__ == "Conv1D" and getattr(layer, "weight", None) is not None:
        return int(layer.weight.shape[0])
    return 0


@functools.cache
def _counts(workload: ModelWorkload, case: Case) -> tuple[float, int, int, Shape]:
    """(FLOPs, parameters, summed reduction length, output shape) of the model, counted on the meta device."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    module = workload.torch_module(case)
    params = sum(p.numel() for p in module.parameters())
    reduction = sum(_layer_reduction_length(layer) for layer in module.modules())

    def count_on(device: str) -> tuple[float, Shape]:
        # Zeros, not empty: token ids must be valid indices should a model inspect them.
        inputs = [torch.zeros(shape, dtype=getattr(torch, np.dtype(dtype).name), device=device)
                  for shape, dtype in zip(workload.input_shapes(case), workload.input_dtypes(case), strict=True)]
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            out = (copy.deepcopy(module).to("meta") if device == "meta" else module)(*inputs)
        first = out if hasattr(out, "shape") else out[0]  # a model with several outputs: the first's shape
        return float(counter.get_total_flops()), tuple(first.shape)

    try:
        flops, shape = count_on("meta")
    except RuntimeError:  # a model that reads a value (transformers' causal masks call .item()): one real pass
        flops, shape = count_on("cpu")
    return flops, int(params), int(reduction), shape
