"""MobileNetV2 (Sandler et al. 2018), torchvision-shaped, eval-mode BatchNorm, written here (not torchvision's).

What the zoo does not test: a JAX definition written independently (what XLA and IREE's StableHLO path compile).

Inverted residual blocks: 1x1 expansion + BN + ReLU6, 3x3 depthwise + BN + ReLU6, 1x1 linear projection + BN,
with a skip where the shape is kept. Same layers and parameter count (3,504,872 at width 1.0, 1000 classes)
as torchvision.models.mobilenet_v2, minus the classifier's Dropout (an identity in eval mode).
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from models import nn_jax
from models.network import ModelWorkload
from models.workload import Case, Shape

# torchvision's inverted residual settings: expansion t, output channels c, repeats n, first stride s.
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
STEM, LAST = 32, 1280


def _make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's channel rounding: nearest multiple of 8, never more than 10% below `value`."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def block_plan(width_pct: int) -> tuple[int, list[tuple[int, int, int, int]], int]:
    """(stem channels, [(in, hidden, out, stride) per inverted residual], last channels) at a width multiplier."""
    mult = width_pct / 100
    stem = inp = _make_divisible(STEM * mult)
    blocks = []
    for t, c, n, s in SETTINGS:
        out = _make_divisible(c * mult)
        for i in range(n):
            blocks.append((inp, inp * t, out, s if i == 0 else 1))
            inp = out
    # torchvision keeps the last layer at 1280 channels below width 1.0.
    return stem, blocks, _make_divisible(LAST * max(1.0, mult))


class MobileNetV2(ModelWorkload):
    name = "mobilenet_v2"
    description = "MobileNetV2 (torchvision layout, eval-mode BatchNorm, ReLU6), 224x224 RGB image, 1000 classes"
    cases = (
        Case.of("b1", batch=1, size=224, width_pct=100, classes=1000),
        # All 17 blocks (every expansion/stride/skip kind) at width 0.25; 64x64 leaves 2x2 at the end, so every
        # 3x3 depthwise kernel still sees its neighbours (on 1x1 only the centre tap would count).
        Case.of("tiny-b2-64", batch=2, size=64, width_pct=25, classes=10),
    )
    default_cases = ("b1",)
    quick_cases = ()
    tiny_case = "tiny-b2-64"

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return ((case["batch"], 3, case["size"], case["size"]),)

    def output_shape(self, case: Case) -> Shape:
        return (case["batch"], case["classes"])

    def build_module(self, case: Case) -> Any:
        return _torch_classes().MobileNetV2(case["width_pct"], case["classes"])

    def jax_apply(self, params: dict[str, Any], case: Case, *inputs: Any) -> Any:
        (x,) = inputs
        _, blocks, _ = block_plan(case["width_pct"])
        x = _jax_conv_bn(params, "features.0", x, stride=2)
        for index, (inp, hidden, out, stride) in enumerate(blocks, start=1):
            prefix, layer = f"features.{index}.conv", 0
            h = x
            if hidden != inp:
                h = _jax_conv_bn(params, f"{prefix}.0", h, stride=1)
                layer = 1
            h = _jax_conv_bn(params, f"{prefix}.{layer}", h, stride=stride, groups=hidden)
            h = nn_jax.conv2d(params, f"{prefix}.{layer + 1}", h)
            h = nn_jax.batchnorm2d(params, f"{prefix}.{layer + 2}", h)
            x = x + h if stride == 1 and inp == out else h
        x = _jax_conv_bn(params, f"features.{len(blocks) + 1}", x, stride=1)
        return nn_jax.linear(params, "classifier", nn_jax.global_avg_pool(x))


def _jax_conv_bn(params: dict[str, Any], prefix: str, x: Any, stride: int, groups: int = 1) -> Any:
    """torchvision's Conv2dNormActivation: prefix.0 conv (padding k//2), prefix.1 BatchNorm, ReLU6."""
    kernel = params[f"{prefix}.0.weight"].shape[-1]
    x = nn_jax.conv2d(params, f"{prefix}.0", x, stride=stride, padding=kernel // 2, groups=groups)
    x = nn_jax.batchnorm2d(params, f"{prefix}.1", x)
    return nn_jax.relu6(x)


@functools.cache
def _torch_classes() -> SimpleNamespace:
    """The torch modules, defined on first use so that importing this file does not import torch."""
    import torch
    from torch import nn

    def conv_bn_relu6(inp: int, out: int, kernel: int, stride: int, groups: int = 1) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(inp, out, kernel, stride, padding=kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out),
            nn.ReLU6(inplace=True),
        )

    class InvertedResidual(nn.Module):
        def __init__(self, inp: int, hidden: int, out: int, stride: int) -> None:
            super().__init__()
            self.use_res_connect = stride == 1 and inp == out
            layers: list[nn.Module] = []
            if hidden != inp:
                layers.append(conv_bn_relu6(inp, hidden, 1, 1))
            layers += [
                conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
                nn.Conv2d(hidden, out, 1, bias=False),
                nn.BatchNorm2d(out),
            ]
            self.conv = nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self, width_pct: int, classes: int) -> None:
            super().__init__()
            stem, blocks, last = block_plan(width_pct)
            self.features = nn.Sequential(
                conv_bn_relu6(3, stem, 3, 2),
                *(InvertedResidual(*block) for block in blocks),
                conv_bn_relu6(blocks[-1][2], last, 1, 1),
            )
            self.classifier = nn.Linear(last, classes)
            # Not torchvision's init (kaiming fan_out): with eval-mode BatchNorm whose statistics are random rather
            # than the activations' own, fan_out shrinks the input-dependent part of the activations ~10x per stage
            # under the BN offsets, until the logits of two different images differ by 2e-7 (relative) and a broken
            # early layer would pass verification. Fan-in keeps it (the logits of two images differ by ~10%):
            # ReLU gain where ReLU6 follows, unit gain on the linear 1x1 projections of the inverted residuals.
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            for block in self.features[1:-1]:
                nn.init.kaiming_normal_(block.conv[-2].weight, mode="fan_in", nonlinearity="linear")
            # The classifier keeps torch's default init (non-zero bias, so a dropped bias shows).

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
            return self.classifier(torch.flatten(x, 1))

    return SimpleNamespace(MobileNetV2=MobileNetV2)
