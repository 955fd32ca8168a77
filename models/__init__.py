"""Workload registry: adding a workload is one module here plus one line in WORKLOAD_MODULES; a model from the
ecosystem's own definitions (torchvision, transformers) is one entry in models/zoo (registered as "zoo.<name>")."""

from __future__ import annotations

import os

from models.registry import load_registered
from models.workload import Case, Workload
from models.zoo import ZOO

# name -> "module:Class"; modules are imported on first use.
WORKLOAD_MODULES: dict[str, str] = {
    "matmul": "models.matmul:Matmul",
    "conv2d": "models.conv2d:Conv2d",
    "depthwise_conv2d": "models.depthwise_conv2d:DepthwiseConv2d",
    "bias_add_relu": "models.bias_add_relu:BiasAddRelu",
    "softmax": "models.softmax:Softmax",
    "layernorm": "models.layernorm:LayerNorm",
    "attention": "models.attention:Attention",
    "reduce_sum": "models.reduce_sum:ReduceSum",
    # Whole networks (kind "model", the models suite).
    "mlp": "models.mlp:Mlp",
    "resnet18": "models.resnet18:ResNet18",
    "mobilenet_v2": "models.mobilenet_v2:MobileNetV2",
    "bert_encoder": "models.bert_encoder:BertEncoder",
    "gpt_decoder": "models.gpt_decoder:GptDecoder",
    # LLM inference (kind "llm", the llm suite): greedy prefill + decode with a KV cache.
    "llama": "models.llm:LlamaDecode",
}


# The model zoo (the "zoo" suite): one generic class, instantiated per table entry.
ZOO_MODULES: dict[str, str] = {f"zoo.{name}": f"models.zoo:ZooModel:{name}" for name in ZOO}


def _registry() -> dict[str, str]:
    """The built-in workloads and the zoo, plus "user_model" while a user's model is named in MLCOMPARE_USER_MODEL."""
    if os.environ.get("MLCOMPARE_USER_MODEL"):
        return {**WORKLOAD_MODULES, **ZOO_MODULES, "user_model": "models.user_model:UserModel"}
    return {**WORKLOAD_MODULES, **ZOO_MODULES}


def workload_names() -> list[str]:
    return list(_registry())


def get_workload(name: str) -> Workload:
    workload: Workload = load_registered(_registry(), "workload", name)
    return workload


__all__ = ["Case", "Workload", "get_workload", "workload_names"]
