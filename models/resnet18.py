"""ResNet-18 (He et al. 2016), torchvision-shaped, eval-mode BatchNorm, written here rather than taken from torchvision.

What the zoo does not test: a JAX definition written independently (what XLA and IREE's StableHLO path compile).

Same layers, state-dict names and parameter count (11,689,512 at width 64, 1000 classes) as
torchvision.models.resnet18: conv1 7x7/2 + BN + ReLU + maxpool 3x3/2, four stages of two BasicBlocks
(3x3 convs, a 1x1 conv + BN downsample where the shape changes), global average pool, fc.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Any

from models import nn_jax
from models.network import ModelWorkload
from models.workload import Case, Shape

BLOCKS_PER_STAGE = 2
STAGES = 4


def stage_widths(width: int) -> list[int]:
    return [width * 2**i for i in range(STAGES)]


class ResNet18(ModelWorkload):
    name = "resnet18"
    description = "ResNet-18 (torchvision layout, eval-mode BatchNorm), 224x224 RGB images, 1000 classes"
    cases = (
        Case.of("b1", batch=1, size=224, width=64, classes=1000),
        Case.of("b8", batch=8, size=224, width=64, classes=1000),
        # Same structure (every stage, block and downsample) at a quarter of the width; 64x64 leaves 2x2 in layer4,
        # so its 3x3 kernels still see their neighbours (on 1x1 only the centre tap would count).
        Case.of("tiny-b2-64", batch=2, size=64, width=16, classes=10),
    )
    default_cases = ("b1", "b8")
    quick_cases = ("b1",)
    tiny_case = "tiny-b2-64"

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        return ((case["batch"], 3, case["size"], case["size"]),)

    def output_shape(self, case: Case) -> Shape:
        return (case["batch"], case["classes"])

    def build_module(self, case: Case) -> Any:
        return _torch_classes().ResNet(case["width"], case["classes"])

    def jax_apply(self, params: dict[str, Any], case: Case, *inputs: Any) -> Any:
        (x,) = inputs
        x = nn_jax.conv2d(params, "conv1", x, stride=2, padding=3)
        x = nn_jax.relu(nn_jax.batchnorm2d(params, "bn1", x))
        x = nn_jax.max_pool2d(x, kernel=3, stride=2, padding=1)
        inplanes = case["width"]
        for stage, planes in enumerate(stage_widths(case["width"])):
            for block in range(BLOCKS_PER_STAGE):
                stride = 2 if stage > 0 and block == 0 else 1
                x = _jax_basic_block(params, f"layer{stage + 1}.{block}", x, stride, inplanes != planes or stride != 1)
                inplanes = planes
        return nn_jax.linear(params, "fc", nn_jax.global_avg_pool(x))


def _jax_basic_block(params: dict[str, Any], prefix: str, x: Any, stride: int, downsample: bool) -> Any:
    out = nn_jax.conv2d(params, f"{prefix}.conv1", x, stride=stride, padding=1)
    out = nn_jax.relu(nn_jax.batchnorm2d(params, f"{prefix}.bn1", out))
    out = nn_jax.conv2d(params, f"{prefix}.conv2", out, stride=1, padding=1)
    out = nn_jax.batchnorm2d(params, f"{prefix}.bn2", out)
    if downsample:
        x = nn_jax.conv2d(params, f"{prefix}.downsample.0", x, stride=stride)
        x = nn_jax.batchnorm2d(params, f"{prefix}.downsample.1", x)
    return nn_jax.relu(out + x)


@functools.cache
def _torch_classes() -> SimpleNamespace:
    """The torch modules, defined on first use so that importing this file does not import torch."""
    import torch
    from torch import nn

    def conv(inp: int, out: int, kernel: int, stride: int) -> nn.Conv2d:
        return nn.Conv2d(inp, out, kernel, stride=stride, padding=kernel // 2, bias=False)

    class BasicBlock(nn.Module):
        def __init__(self, inplanes: int, planes: int, stride: int) -> None:
            super().__init__()
            self.conv1 = conv(inplanes, planes, 3, stride)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = conv(planes, planes, 3, 1)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample: nn.Module | None = None
            if stride != 1 or inplanes != planes:
                self.downsample = nn.Sequential(conv(inplanes, planes, 1, stride), nn.BatchNorm2d(planes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet(nn.Module):
        def __init__(self, width: int, classes: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            inplanes = width
            for stage, planes in enumerate(stage_widths(width)):
                blocks = []
                for block in range(BLOCKS_PER_STAGE):
                    blocks.append(BasicBlock(inplanes, planes, 2 if stage > 0 and block == 0 else 1))
                    inplanes = planes
                self.add_module(f"layer{stage + 1}", nn.Sequential(*blocks))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(inplanes, classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    # torchvision's init (unlike MobileNetV2, see there, it keeps the output input-dependent under
                    # the random BN statistics: two images' logits differ by ~3% at 224x224 after the average pool;
                    # activations grow ~30x from the stem to layer4 through the residual sums, logits std ~6).
                    # fc keeps torch's default (non-zero bias, so a dropped bias shows).
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return SimpleNamespace(ResNet=ResNet)
