"""What the 2-D convolution workloads share: the NumPy convolution and a grouped-conv Workload base.

Layout is fixed for every backend: x[N,C,H,W], w[O,C/groups,KH,KW], output [N,O,OH,OW], no bias, zero
padding `pad` on both sides of H and W, the same `stride` along H and W. "Convolution" here is the
cross-correlation that torch and XLA compute (the kernel is not flipped).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any

import numpy as np

from models.workload import Case, Shape, Workload


def conv_out_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output length of one spatial axis (floor division, as torch and XLA)."""
    return (size + 2 * pad - kernel) // stride + 1


def numpy_conv2d(x: np.ndarray, w: np.ndarray, stride: int, pad: int, groups: int = 1) -> np.ndarray:
    """Grouped NCHW x OIHW convolution, computed in the dtype of `x` and `w`.

    One loop step per kernel offset (KH*KW steps, 9 for 3x3): the strided input window for that offset is
    multiplied by the [O/g, C/g] weight slice of every group in a single batched matmul, so the work runs
    in BLAS and no KH*KW-times-larger im2col buffer is built.
    """
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    if c != cg * groups or o % groups:
        raise ValueError(f"channels do not split into {groups} groups: x {x.shape}, w {w.shape}")
    oh, ow = conv_out_size(h, kh, stride, pad), conv_out_size(wd, kw, stride, pad)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    xg = xp.reshape(n, groups, cg, xp.shape[2], xp.shape[3])
    wg = w.reshape(groups, o // groups, cg, kh, kw)
    out = np.zeros((n, groups, o // groups, oh * ow), dtype=np.result_type(x, w))
    h_span, w_span = stride * (oh - 1) + 1, stride * (ow - 1) + 1
    for i in range(kh):
        for j in range(kw):
            window = xg[:, :, :, i : i + h_span : stride, j : j + w_span : stride].reshape(n, groups, cg, oh * ow)
            # [g, O/g, C/g] @ [n, g, C/g, OH*OW] -> [n, g, O/g, OH*OW]
            out += wg[:, :, :, i, j] @ window
    return out.reshape(n, o, oh, ow)


class GroupedConv2d(Workload):
    """A 2-D convolution workload; subclasses say how many groups and output channels a case has.

    Case dimensions: n, c, h, w, kh, kw, stride, pad (plus whatever `out_channels` reads).
    """

    @abstractmethod
    def groups(self, case: Case) -> int:
        """Number of channel groups (1: dense convolution, C: depthwise)."""

    @abstractmethod
    def out_channels(self, case: Case) -> int:
        """O, the number of output channels."""

    def fan_in(self, case: Case) -> int:
        """Terms summed per output element: C/groups * KH * KW."""
        return case["c"] // self.groups(case) * case["kh"] * case["kw"]

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        x = (case["n"], case["c"], case["h"], case["w"])
        w = (self.out_channels(case), case["c"] // self.groups(case), case["kh"], case["kw"])
        return x, w

    def output_shape(self, case: Case) -> Shape:
        oh = conv_out_size(case["h"], case["kh"], case["stride"], case["pad"])
        ow = conv_out_size(case["w"], case["kw"], case["stride"], case["pad"])
        return case["n"], self.out_channels(case), oh, ow

    def make_inputs(self, case: Case, seed: int = 0) -> tuple[np.ndarray, ...]:
        # Scale the weights by 1/sqrt(fan_in) (He/LeCun-style) so outputs stay O(1) for every layer width.
        x, w = super().make_inputs(case, seed)
        return x, (w / np.float32(math.sqrt(self.fan_in(case)))).astype(np.float32)

    def numpy_forward(self, case: Case, *arrays: np.ndarray) -> np.ndarray:
        x, w = arrays
        return numpy_conv2d(x, w, case["stride"], case["pad"], self.groups(case))

    def torch_forward(self, case: Case, *tensors: Any) -> Any:
        import torch

        x, w = tensors
        return torch.nn.functional.conv2d(x, w, stride=case["stride"], padding=case["pad"], groups=self.groups(case))

    def jax_forward(self, case: Case, *arrays: Any) -> Any:
        import jax

        x, w = arrays
        pad = case["pad"]
        return jax.lax.conv_general_dilated(
            x,
            w,
            window_strides=(case["stride"], case["stride"]),
            padding=((pad, pad), (pad, pad)),
            dimension_numbers=("NCHW", "OIHW", "NCHW"),
            feature_group_count=self.groups(case),
            precision=jax.lax.Precision.HIGHEST,
        )

    def flops(self, case: Case) -> float:
        return 2.0 * float(np.prod(self.output_shape(case))) * self.fan_in(case)

    def reduction_length(self, case: Case) -> int:
        return self.fan_in(case)
