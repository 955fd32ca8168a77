"""The one lookup behind both registries (workloads here, backends in backends/__init__.py)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


def load_registered(registry: Mapping[str, str], kind: str, name: str) -> Any:
    """Instantiate the class registered as `name` ("package.module:Class", or "package.module:Class:key" for
    Class(key), one generic class serving a table), checking it calls itself `name`."""
    try:
        target = registry[name]
    except KeyError:
        raise KeyError(f"unknown {kind} {name!r} (valid: {', '.join(registry)})") from None
    module_name, class_name, *key = target.split(":")
    instance = getattr(importlib.import_module(module_name), class_name)(*key)
    if instance.name != name:
        raise RuntimeError(f"{target} registers as {name!r} but calls itself {instance.name!r}")
    return instance
