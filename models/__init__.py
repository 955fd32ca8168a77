"""Workload registry: adding a workload is one module here plus one line in WORKLOAD_MODULES."""

from __future__ import annotations

import importlib

from models.base import Case, Workload

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
    try:
        target = WORKLOAD_MODULES[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r} (valid: {', '.join(WORKLOAD_MODULES)})") from None
    module_name, class_name = target.split(":")
    workload = getattr(importlib.import_module(module_name), class_name)()
    if workload.name != name:
        raise RuntimeError(f"{target} registers as {name!r} but calls itself {workload.name!r}")
    return workload


__all__ = ["Case", "Workload", "get_workload", "workload_names"]
