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


def two_heads() -> tuple[Any, Any]:
    """Two inputs (a float image, int64 token ids) and two outputs (logits, the pooled embedding)."""
    import torch

    class TwoHeads(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.embed = torch.nn.Embedding(50, 8)
            self.head = torch.nn.Linear(8, 4)

        def forward(self, image: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            pooled = self.embed(ids).mean(1)
            return self.head(torch.relu(self.conv(image)).mean((2, 3)) + pooled), pooled * 2.0

    torch.manual_seed(0)
    return TwoHeads().eval(), (torch.randn(2, 3, 4, 4), torch.randint(0, 50, (2, 5)))


def float32_only() -> tuple[Any, Any]:
    """A module that cannot run in float64 (it casts a weight to float32 itself)."""
    import torch

    class Float32Only(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(4, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ self.weight.to(torch.float32)

    torch.manual_seed(0)
    return Float32Only().eval(), (torch.randn(2, 4),)
