"""Dense 2-D convolution (NCHW x OIHW, no bias): the 3x3 layers of ResNet-18 at batch 1, and a 224x224 stem."""

from __future__ import annotations

from models.conv_common import GroupedConv2d
from models.workload import Case


def _case(label: str, n: int, c: int, h: int, w: int, o: int, stride: int, k: int = 3) -> Case:
    # "Same" padding for odd kernels: stride 1 keeps H x W, stride 2 halves it.
    return Case.of(label, n=n, c=c, h=h, w=w, o=o, kh=k, kw=k, stride=stride, pad=k // 2)


def _resnet(c: int, hw: int, o: int, stride: int) -> Case:
    return _case(f"1x{c}x{hw}x{hw}-o{o}-s{stride}", 1, c, hw, hw, o, stride)


class Conv2d(GroupedConv2d):
    name = "conv2d"
    description = "3x3 convolution NCHW/OIHW, no bias, float32 (ResNet-18 layers at batch 1, 224x224 stem)"
    cases = (
        # A 3x3 stem on a 224x224 RGB image (stride 1, pad 1): few input channels, large spatial extent.
        _resnet(3, 224, 64, 1),
        # ResNet-18 3x3 convolutions: the stride-1 layer of each stage ...
        _resnet(64, 56, 64, 1),
        _resnet(128, 28, 128, 1),
        _resnet(256, 14, 256, 1),
        _resnet(512, 7, 512, 1),
        # ... and the stride-2 first convolution of stages 2-4 (halves H x W, doubles channels).
        _resnet(64, 56, 128, 2),
        _resnet(128, 28, 256, 2),
        _resnet(256, 14, 512, 2),
        # Batch 2, odd non-square image: exercises batching, edge padding and masking in the tests.
        _case("tiny-2x4x9x7-o6-s1", 2, 4, 9, 7, 6, 1),
    )
    default_cases = ("1x3x224x224-o64-s1", "1x64x56x56-o64-s1")
    quick_cases = ("1x128x28x28-o128-s1",)
    tiny_case = "tiny-2x4x9x7-o6-s1"

    def groups(self, case: Case) -> int:
        return 1

    def out_channels(self, case: Case) -> int:
        return case["o"]
