"""LLM inference: greedy decoding with a KV cache on a Llama-style decoder (the `llm` suite's workload).

The model is transformers' LlamaForCausalLM (RMSNorm, RoPE, SwiGLU, grouped-query attention) built from a
LlamaConfig with seeded weights (models.network.WEIGHT_SEED): nothing is downloaded. One inference is one greedy
generation: a prefill of the seeded prompt (P token ids) gives the first new token, then N - 1 decode steps give
the rest. Its output is the logits that chose each of the N tokens, [N, vocab].

The reference is the same model in float64 decoding greedily with its own cache (DynamicCache): a backend must
generate the same token ids (suites/generation_check.py) and logits within the tolerance.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import numpy as np

from models.network import WEIGHT_SEED
from models.workload import Case, Shape, Workload


def _llm_case(label: str, prompt: int, new_tokens: int, layers: int = 12, hidden: int = 768, heads: int = 12,
              kv_heads: int = 4, intermediate: int = 2048, vocab: int = 32000) -> Case:
    return Case.of(label, prompt=prompt, new_tokens=new_tokens, layers=layers, hidden=hidden, heads=heads,
                   kv_heads=kv_heads, intermediate=intermediate, vocab=vocab)


def import_llama() -> tuple[Any, Any]:
    """(LlamaConfig, LlamaForCausalLM), importing transformers without torchvision.

    transformers' modeling_utils imports its image utilities, which import torchvision when it is installed; a
    torchvision built for another torch fails at import (operator torchvision::nms does not exist). A text model
    needs none of it: marking torchvision absent makes transformers' availability check say so.
    """
    if "torchvision" not in sys.modules:
        sys.modules["torchvision"] = None  # type: ignore[assignment]  # import and find_spec then see no torchvision
        # transformers caches the answer: forget one given by an earlier import of some other part of it.
        checks = sys.modules.get("transformers.utils.import_utils")
        for name in ("is_torchvision_available", "is_torchvision_v2_available"):
            getattr(getattr(checks, name, None), "cache_clear", lambda: None)()
    from transformers.models.llama.configuration_llama import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaForCausalLM

    return LlamaConfig, LlamaForCausalLM


def llama_config(case: Case, attention: str = "sdpa") -> Any:
    config_class, _ = import_llama()
    config = config_class(
        vocab_size=case["vocab"], hidden_size=case["hidden"], intermediate_size=case["intermediate"],
        num_hidden_layers=case["layers"], num_attention_heads=case["heads"], num_key_value_heads=case["kv_heads"],
        max_position_embeddings=max(2048, case["prompt"] + case["new_tokens"]), tie_word_embeddings=False)
    config._attn_implementation = attention
    return config


@functools.cache
def llama_model(case: Case) -> Any:
    """The seeded float32 model (cached per process: every backend of a cell reads these weights)."""
    import torch

    _, model_class = import_llama()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(WEIGHT_SEED)
        model = model_class(llama_config(case))
        # Fresh RMSNorm weights are all ones: make them matter, as trained ones do.
        with torch.no_grad():
            for name, tensor in model.named_parameters():
                if name.endswith("norm.weight"):
                    tensor.uniform_(0.5, 1.5)
    return model.float().eval().requires_grad_(False)


def greedy_generate(model: Any, prompt: np.ndarray, new_tokens: int) -> np.ndarray:
    """Greedy decoding with the model's own DynamicCache: the logits that chose each new token, [N, vocab]."""
    import torch

    import_llama()
    from transformers.cache_utils import DynamicCache

    cache = DynamicCache()
    ids = torch.from_numpy(np.ascontiguousarray(prompt))
    rows = []
    with torch.inference_mode():
        for _ in range(new_tokens):
            logits = model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1).logits[0, -1]
            rows.append(logits)
            ids = logits.argmax().reshape(1, 1)
    return torch.stack(rows).numpy()


class LlamaDecode(Workload):
    name = "llama"
    description = ("Llama-style decoder (transformers LlamaConfig: 12 layers, hidden 768, 12 heads, 4 KV heads, "
                   "SwiGLU 2048, vocab 32000, ~125 M parameters, seeded): greedy prefill + decode with a KV cache")
    kind = "llm"
    definitions = ("torch",)
    cases = (
        _llm_case("p128", prompt=128, new_tokens=32),
        _llm_case("p512", prompt=512, new_tokens=32),
        # 2 layers, hidden 32, vocab 100: every decode path in seconds.
        _llm_case("tiny", prompt=8, new_tokens=6, layers=2, hidden=32, heads=4, kv_heads=2, intermediate=64,
                  vocab=100),
    )
    default_cases = ("p128", "p512")
    quick_cases = ("p128",)
    tiny_case = "tiny"

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return ((1, case["prompt"]),)

    def output_shape(self, case: Case) -> Shape:
        return (case["new_tokens"], case["vocab"])

    def make_inputs(self, case: Case, seed: int = 0) -> tuple[np.ndarray, ...]:
        """The prompt: seeded token ids."""
        rng = np.random.default_rng(seed)
        return (rng.integers(0, case["vocab"], size=(1, case["prompt"]), dtype=np.int64),)

    def reference(self, case: Case, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
        """The float64 model decoding greedily (eager attention: another kernel than the backends' sdpa)."""
        import copy

        model = copy.deepcopy(llama_model(case)).double()
        model.config._attn_implementation = "eager"
        return greedy_generate(model, inputs[0], case["new_tokens"])

    def numpy_forward(self, case: Case, *arrays: np.ndarray) -> np.ndarray:
        return self.reference(case, arrays)

    def torch_forward(self, case: Case, *tensors: Any) -> Any:
        return greedy_generate(llama_model(case), tensors[0].numpy(), case["new_tokens"])

    def jax_forward(self, case: Case, *arrays: Any) -> Any:
        raise NotImplementedError("the JAX decode step is models/llm_jax.py; generation is a host loop")

    # --- counts ------------------------------------------------------------------------------------
    def head_dim(self, case: Case) -> int:
        return case["hidden"] // case["heads"]

    def matmul_weights(self, case: Case) -> int:
        """Weights multiplied per token: every layer's projections and the LM head (not the embedding lookup)."""
        hidden, kv = case["hidden"], case["kv_heads"] * self.head_dim(case)
        per_layer = 2 * hidden * hidden + 2 * hidden * kv + 3 * hidden * case["intermediate"]
        return case["layers"] * per_layer + hidden * case["vocab"]

    def parameter_count(self, case: Case) -> int | None:
        return self.matmul_weights(case) + case["vocab"] * case["hidden"] + (2 * case["layers"] + 1) * case["hidden"]

    def kv_bytes_per_token(self, case: Case) -> int:
        """float32 keys and values of one token in every layer."""
        return 2 * case["layers"] * case["kv_heads"] * self.head_dim(case) * 4

    def flops(self, case: Case) -> float:
        """One generation: the prefill (LM head on the last position only) and N - 1 decode steps."""
        prompt, steps = case["prompt"], case["new_tokens"] - 1
        lm_head = case["hidden"] * case["vocab"]
        projections = 2.0 * (self.matmul_weights(case) - lm_head) * (prompt + steps) + 2.0 * lm_head * (1 + steps)
        # q.k and p.v per layer: 2 * 2 * hidden per (query, key) pair; a causal prefill has P(P+1)/2 pairs.
        pairs = prompt * (prompt + 1) / 2 + sum(prompt + s + 1 for s in range(steps))
        return projections + 4.0 * case["layers"] * case["hidden"] * pairs

    def bytes_moved(self, case: Case) -> float:
        """Every weight read once per forward pass (prefill and each decode step), plus the prompt and logits."""
        passes = case["new_tokens"]
        return 4.0 * self.parameter_count(case) * passes + 8.0 * case["prompt"] + 4.0 * passes * case["vocab"]

    def reduction_length(self, case: Case) -> int:
        """Along the depth: each layer's projections (hidden in, intermediate into down_proj), q.k over head_dim
        and p.v over the longest context; then the LM head."""
        context = case["prompt"] + case["new_tokens"]
        per_layer = 3 * case["hidden"] + case["intermediate"] + self.head_dim(case) + context
        return case["layers"] * per_layer + case["hidden"]
