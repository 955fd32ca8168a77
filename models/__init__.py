"""Workload registry: adding a workload is one module here plus one line in WORKLOAD_MODULES."""

from __future__ import annotations

from models.base import Case, Workload
from models.registry import load_registered

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
}


def workload_names() -> list[str]:
    return list(WORKLOAD_MODULES)


def get_workload(name: str) -> Workload:
    workload: Workload = load_registered(WORKLOAD_MODULES, "workload", name)
    return workload


__all__ = ["Case", "Workload", "get_workload", "workload_names"]
