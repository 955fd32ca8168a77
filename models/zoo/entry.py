"""One row of the model zoo: how to build a library's model, what it takes, and which output is checked.

Kept free of torch, torchvision and transformers imports: the registry reads the table in every process, and a
cell's subprocess must import its libraries only after its thread knobs are set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models.workload import Case

TINY = "tiny"  # the label of every entry's tiny case (the tests' case)
DEFAULT = "b1"  # the label of every entry's real-size case, batch 1


@dataclass(frozen=True)
class ZooEntry:
    """A model from its library's own definition, with seeded random weights (models.network.WEIGHT_SEED).

    - `build(case)` returns an nn.Module whose forward takes the inputs and returns the one checked output tensor;
    - `inputs`: "image" [batch, 3, size, size] float32; "tokens" [batch, seq] int64 ids in [0, vocab);
      "audio" [batch, mels, frames] float32 (log-mel features);
    - `cases`: the real-size case labelled DEFAULT (batch 1) and a TINY one (a small config or image) for tests.
    """

    name: str
    source: str  # the library whose definition it is: "torchvision" or "transformers"
    architecture: str  # the library's class or factory, as a user names it
    build: Callable[[Case], Any]
    inputs: str
    cases: tuple[Case, Case]
    output: str  # which output is verified, in words ("logits", "last_hidden_state")
    note: str
    quick: bool = False  # in --quick (a few representative entries)

    @property
    def description(self) -> str:
        return f"{self.architecture} ({self.source}), {self.output}: {self.note}"


def image_cases(size: int = 224, tiny_size: int = 64, classes: int = 1000) -> tuple[Case, Case]:
    """ImageNet-shaped batch 1; a batch of two small images with 10 classes for the tests."""
    return (Case.of(DEFAULT, batch=1, size=size, classes=classes),
            Case.of(TINY, batch=2, size=tiny_size, classes=10))


def token_cases(vocab: int, seq: int = 128, tiny_vocab: int = 100) -> tuple[Case, Case]:
    """One sequence of `seq` token ids; two sequences of 8 ids at a tiny config (vocabulary `tiny_vocab`)."""
    return (Case.of(DEFAULT, batch=1, seq=seq, vocab=vocab),
            Case.of(TINY, batch=2, seq=8, vocab=tiny_vocab))
