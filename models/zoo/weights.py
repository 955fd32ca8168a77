"""Trained-looking weights for the zoo's library-initialised models (drawn under the caller's seed).

A library's initialisation is made for training, not for checking outputs: ViT's head starts at zero (every
output 0), many biases start at zero (a dropped bias would pass), and BatchNorm statistics that do not match the
activations they normalise make deep CNNs forget their input (MobileNetV3 and EfficientNet outputs then differ
by ~1e-8 between images, below the verification tolerance: a broken layer would pass). So, on top of the norms'
random affine weights (models.network.randomise_norm_statistics):
- every all-zero parameter is redrawn from N(0, 0.02^2);
- BatchNorm running statistics are measured on a seeded batch of standard-normal inputs (computed in float64, so
  that the float32 weights are the same whatever the thread count), as if calibrated on data.
"""

from __future__ import annotations

import copy
from typing import Any

from models.network import randomise_norm_statistics
from models.workload import Shape

CALIBRATION_BATCH = 4  # images per calibration pass: enough for BatchNorm to see more than one value per channel
ZERO_REDRAW_STD = 0.02


def trained_looking(module: Any, input_shape: Shape | None) -> None:
    """Finish a freshly built module in place; `input_shape` (one float input) calibrates its BatchNorms."""
    import torch

    randomise_norm_statistics(module)
    with torch.no_grad():
        for parameter in module.parameters():
            if parameter.is_floating_point() and not parameter.any():
                parameter.normal_(0.0, ZERO_REDRAW_STD)
    if input_shape is not None:
        calibrate_batchnorm(module, (CALIBRATION_BATCH, *input_shape[1:]))


def calibrate_batchnorm(module: Any, shape: Shape) -> None:
    """Set every BatchNorm's running mean and variance to the statistics of its input on one seeded batch."""
    import torch

    norms = [name for name, layer in module.named_modules() if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    twin = copy.deepcopy(module).double().eval()
    layers = dict(twin.named_modules())
    for name in norms:  # only the norms train: dropout and stochastic depth stay off
        layers[name].train()
        layers[name].momentum = None  # a cumulative average: after one batch, exactly its statistics
        layers[name].reset_running_stats()
    with torch.no_grad():
        twin(torch.randn(shape, dtype=torch.float64))
        originals = dict(module.named_modules())
        for name in norms:
            originals[name].running_mean.copy_(layers[name].running_mean)
            originals[name].running_var.copy_(layers[name].running_var)
