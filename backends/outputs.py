"""A workload's outputs as backends hand them back: one array (most workloads), or a tuple of arrays (a model with
several outputs). Every adapter's fetch goes through `each_output`, so no adapter verifies only a first output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Outputs = np.ndarray | tuple[np.ndarray, ...]


def each_output(convert: Callable[[Any], np.ndarray]) -> Callable[[Any], Outputs]:
    """A `Prepared.fetch`: `convert` applied to one output, or to each of a tuple/list of outputs (a tuple back)."""

    def fetch(out: Any) -> Outputs:
        if isinstance(out, tuple | list):
            return tuple(convert(o) for o in out)
        return convert(out)

    return fetch


def as_tuple(outputs: Any) -> tuple[np.ndarray, ...]:
    """One output or several, as a tuple of arrays (what verification compares output by output)."""
    if isinstance(outputs, tuple | list):
        return tuple(np.asarray(o) for o in outputs)
    return (np.asarray(outputs),)
