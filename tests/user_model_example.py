"""Model factories for the bring-your-own-model tests (named on the command line as tests.user_model_example:NAME)."""

from __future__ import annotations

from typing import Any


def small_convnet() -> tuple[Any, Any]:
    import torch

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                                 torch.nn.Flatten(), torch.nn.Linear(8 * 6 * 6, 5))
    return module, (torch.randn(2, 3, 6, 6),)


def wrong_shapes() -> tuple[Any, Any]:
    import torch

    return torch.nn.Linear(4, 2), (torch.randn(3, 5),)


def not_a_model() -> int:
    return 3
