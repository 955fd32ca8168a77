"""Hugging Face transformers models built from their configs (the published models' hyperparameters, random
weights: nothing is downloaded), eval mode, default attention implementation, no KV cache.

The real-size case is the published configuration at batch 1 and 128 tokens (Whisper: 30 s of 80-bin log-mel
frames); the tiny case is the same class at 2 layers and hidden size 32 on two sequences of 8 tokens.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from types import SimpleNamespace
from typing import Any

from models.workload import Case
from models.zoo.entry import DEFAULT, TINY, ZooEntry, token_cases

# The small config every tiny case shares (each family spells the fields its own way).
BERT_TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
             "max_position_embeddings": 64}
ROBERTA = {"type_vocab_size": 1, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}
SMOLLM_135M = {"hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
               "num_key_value_heads": 3, "max_position_embeddings": 2048, "rms_norm_eps": 1e-5,
               "tie_word_embeddings": True}
WHISPER_TINY = {"d_model": 384, "encoder_layers": 4, "encoder_attention_heads": 6, "encoder_ffn_dim": 1536}


def import_transformers() -> Any:
    """transformers, after the torchvision fix-up where torchvision is installed (transformers imports it)."""
    if importlib.util.find_spec("torchvision") is not None:
        from models.zoo.torchvision_models import import_torchvision

        import_torchvision()
    import transformers

    return transformers


@functools.cache
def _torch_classes() -> SimpleNamespace:
    """Defined on first use so that importing this file does not import torch."""
    import torch

    class OutputOf(torch.nn.Module):
        """A transformers model whose forward returns the one output the zoo verifies."""

        def __init__(self, model: torch.nn.Module, output: str) -> None:
            super().__init__()
            self.model, self.output = model, output

        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            return self.model(inputs)[self.output]

    return SimpleNamespace(OutputOf=OutputOf)


def _model_class(path: str) -> Any:
    """"BertModel" (exported by transformers) or "module.path:Class" for classes it does not export."""
    import_transformers()
    module, _, name = path.rpartition(":")
    return getattr(importlib.import_module(module or "transformers"), name)


def _builder(model: str, config: str, full: dict[str, Any], tiny: dict[str, Any], output: str,
             **model_kwargs: Any) -> Any:
    def build(case: Case) -> Any:
        sizes = {"vocab_size": case["vocab"]} if "vocab" in case.as_dict() else {
            "num_mel_bins": case["mels"], "max_source_positions": case["frames"] // 2}  # Whisper: 2x conv stride
        settings = {**full, **(tiny if case.label == TINY else {}), **sizes}
        config_object = getattr(import_transformers(), config)(**settings)
        return _torch_classes().OutputOf(_model_class(model)(config_object, **model_kwargs), output)

    return build


def _entry(name: str, model: str, config: str, vocab: int, output: str, note: str, full: dict[str, Any] | None = None,
           tiny: dict[str, Any] | None = None, quick: bool = False, **model_kwargs: Any) -> ZooEntry:
    build = _builder(model, config, full or {}, tiny if tiny is not None else BERT_TINY, output, **model_kwargs)
    return ZooEntry(name=name, source="transformers", architecture=model.rpartition(":")[2], build=build,
                    inputs="tokens", cases=token_cases(vocab), output=output, note=note, quick=quick)


_NO_CACHE = {"use_cache": False}
HF_ENTRIES = (
    _entry("bert_base", "BertModel", "BertConfig", 30522, "last_hidden_state",
           "BERT-base (bert-base-uncased config), no pooler: post-LN encoder on token, position and type embeddings",
           quick=True, add_pooling_layer=False),
    _entry("distilbert", "DistilBertModel", "DistilBertConfig", 30522, "last_hidden_state",
           "DistilBERT-base: 6-layer BERT without token types",
           tiny={"dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 64, "max_position_embeddings": 64}),
    _entry("roberta_base", "RobertaModel", "RobertaConfig", 50265, "last_hidden_state",
           "RoBERTa-base, no pooler: position ids computed from the ids (padding id 1)",
           full={**ROBERTA, "max_position_embeddings": 514, "layer_norm_eps": 1e-5}, tiny={**BERT_TINY, **ROBERTA},
           add_pooling_layer=False),
    _entry("gpt2", "GPT2LMHeadModel", "GPT2Config", 50257, "logits",
           "GPT-2 small: causal decoder, Conv1D projections, LM head tied to the embedding", quick=True,
           full=_NO_CACHE, tiny={"n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 64, **_NO_CACHE,
                                 "bos_token_id": 0, "eos_token_id": 0}),  # special ids inside the tiny vocabulary
    _entry("t5_small_encoder", "T5EncoderModel", "T5Config", 32128, "last_hidden_state",
           "T5-small encoder: RMSNorm, relative position buckets, ReLU feed-forward",
           tiny={"d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4}),
    _entry("smollm_135m", "LlamaForCausalLM", "LlamaConfig", 49152, "logits",
           "a small Llama (SmolLM-135M config): RoPE, grouped-query attention, SwiGLU, RMSNorm, tied LM head",
           full={**SMOLLM_135M, **_NO_CACHE},
           tiny={**SMOLLM_135M, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64}),
    ZooEntry(name="whisper_tiny_encoder", source="transformers", architecture="WhisperEncoder",
             build=_builder("transformers.models.whisper.modeling_whisper:WhisperEncoder", "WhisperConfig",
                            WHISPER_TINY, {"d_model": 32, "encoder_layers": 2, "encoder_attention_heads": 4,
                                           "encoder_ffn_dim": 64}, "last_hidden_state"),
             inputs="audio", output="last_hidden_state",
             cases=(Case.of(DEFAULT, batch=1, mels=80, frames=3000), Case.of(TINY, batch=2, mels=8, frames=16)),
             note="Whisper-tiny encoder: two Conv1d over log-mel frames, sinusoidal positions, pre-LN attention"),
)
