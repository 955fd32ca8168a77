"""torchvision's classification architectures, built by their factories with weights=None (nothing downloaded).

Each is the factory's model as a user gets it, eval mode, 1000 classes at 224x224; the tiny case is the same
architecture on 64x64 images with 10 classes (every stage kept; only the classifier shrinks).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from models.workload import Case
from models.zoo.entry import ZooEntry, image_cases

# torchvision's detection operators, which the PyPI wheel's C++ extension registers. See import_torchvision.
_DETECTION_OPS = ("nms", "qnms")


@functools.cache
def import_torchvision() -> Any:
    """torchvision, importable beside torch's CPU wheel.

    PyPI has only CUDA builds of torchvision for x86 Linux: their C++ extension (_C.so) links libtorch_cuda, so it
    cannot load beside torch 2.13.0+cpu, and torchvision's import then fails registering fake kernels for
    `torchvision::nms` and `qnms`, operators the extension would have defined (pytorch/vision#9085). Defining
    their schemas first lets the import finish. The classification models use none of the C++ operators (NMS,
    RoIAlign, deformable convolution are detection ops); calling one of those would fail, loudly.
    transformers imports torchvision where it is installed, so hf_models calls this first too.
    """
    import importlib.util

    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("torchvision is not installed")
    extensions = sorted(Path(spec.origin).parent.glob("_C*.so"))
    try:
        if not extensions:
            raise OSError("no C++ extension")
        torch.ops.load_library(str(extensions[0]))
    except OSError:
        library = torch.library.Library("torchvision", "FRAGMENT")
        for op in _DETECTION_OPS:  # once per process (cached): the extension that would define them did not load
            library.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _KEEP.append(library)  # a Library deregisters its definitions when collected
    import torchvision

    return torchvision


_KEEP: list[Any] = []


def _factory(name: str, **fixed: Any) -> Any:
    """A build function: torchvision.models.<name>(weights=None, num_classes=...), plus per-architecture kwargs."""

    def build(case: Case) -> Any:
        models = import_torchvision().models
        sized = {"image_size": case["size"]} if name.startswith("vit_") else {}  # ViT's position table is per size
        return getattr(models, name)(weights=None, num_classes=case["classes"], **sized, **fixed)

    return build


def _entry(name: str, note: str, quick: bool = False) -> ZooEntry:
    return ZooEntry(name=name, source="torchvision", architecture=f"torchvision.models.{name}", build=_factory(name),
                    inputs="image", cases=image_cases(), output="logits", note=note, quick=quick)


TORCHVISION_ENTRIES = (
    _entry("resnet50", "bottleneck residual CNN, the most benchmarked network", quick=True),
    _entry("mobilenet_v3_large", "depthwise-separable CNN with squeeze-excitation and hardswish", quick=True),
    _entry("efficientnet_b0", "MBConv blocks with squeeze-excitation and SiLU"),
    _entry("convnext_tiny", "7x7 depthwise convs, LayerNorm over channels, GELU (a CNN shaped like a transformer)"),
    _entry("regnet_y_400mf", "grouped-conv RegNet with squeeze-excitation, small FLOP budget"),
    _entry("vit_b_16", "Vision Transformer, 16x16 patches, nn.MultiheadAttention", quick=True),
    _entry("swin_t", "shifted-window attention with relative position bias"),
    _entry("densenet121", "dense connectivity: concatenations of every earlier feature map"),
    _entry("squeezenet1_1", "fire modules (1x1 squeeze, 1x1/3x3 expand), no Linear classifier"),
    _entry("shufflenet_v2_x1_0", "channel split and shuffle (reshape/transpose), depthwise convs"),
)
