"""Depthwise 3x3 convolution (groups = channels, no bias): the MobileNetV2 depthwise layers at batch 1."""

from __future__ import annotations

from models.conv_common import GroupedConv2d
from models.workload import Case


def _case(label: str, n: int, c: int, h: int, w: int, stride: int, k: int = 3) -> Case:
    return Case.of(label, n=n, c=c, h=h, w=w, kh=k, kw=k, stride=stride, pad=k // 2)


def _mobilenet(c: int, hw: int, stride: int) -> Case:
    return _case(f"1x{c}x{hw}x{hw}-s{stride}", 1, c, hw, hw, stride)


class DepthwiseConv2d(GroupedConv2d):
    name = "depthwise_conv2d"
    description = "depthwise 3x3 convolution x[N,C,H,W] * w[C,1,3,3], groups=C, float32 (MobileNetV2 layers)"
    # MobileNetV2 (224x224 input): the depthwise conv of each bottleneck stage, on the expanded channels.
    cases = (
        _mobilenet(32, 112, 1),
        _mobilenet(96, 112, 2),
        _mobilenet(144, 56, 1),
        _mobilenet(144, 56, 2),
        _mobilenet(192, 28, 1),
        _mobilenet(384, 14, 1),
        _mobilenet(576, 14, 2),
        _mobilenet(960, 7, 1),
        # Batch 2, odd non-square image, stride 2: exercises the strided window and edge padding in the tests.
        _case("tiny-2x5x9x7-s2", 2, 5, 9, 7, 2),
    )
    default_cases = ("1x144x56x56-s1",)
    quick_cases = ("1x144x56x56-s1",)
    tiny_case = "tiny-2x5x9x7-s2"

    def groups(self, case: Case) -> int:
        return case["c"]

    def out_channels(self, case: Case) -> int:
        return case["c"]
