"""The model zoo: architectures from the ecosystem's own definitions (torchvision, Hugging Face transformers),
with seeded random weights, run in the "zoo" suite. Adding one is a table entry (models/zoo/entry.py says what an
entry holds; docs/zoo.md lists them). Each is registered as the workload "zoo.<name>".

A zoo model is a ModelWorkload with only a torch definition: the reference is the module in float64, backends that
compile a JAX definition record its cells as unsupported, and integer inputs (token ids) stay int64 throughout.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.network import ModelWorkload
from models.workload import Case, Shape
from models.zoo.entry import DEFAULT, TINY, ZooEntry
from models.zoo.hf_models import HF_ENTRIES
from models.zoo.torchvision_models import TORCHVISION_ENTRIES
from models.zoo.weights import trained_looking

ZOO: dict[str, ZooEntry] = {entry.name: entry for entry in (*TORCHVISION_ENTRIES, *HF_ENTRIES)}


class ZooModel(ModelWorkload):
    """One zoo entry as a workload (instantiated per entry by the registry: "models.zoo:ZooModel:<name>")."""

    collection = "zoo"
    definitions = ("torch",)
    default_cases = (DEFAULT,)
    tiny_case = TINY

    def __init__(self, key: str) -> None:
        self.entry = ZOO[key]
        self.name = f"zoo.{key}"
        self.description = self.entry.description
        self.cases = self.entry.cases
        self.quick_cases = (DEFAULT,) if self.entry.quick else ()

    def input_shapes(self, case: Case) -> tuple[Shape, ...]:
        if self.entry.inputs == "image":
            return ((case["batch"], 3, case["size"], case["size"]),)
        if self.entry.inputs == "tokens":
            return ((case["batch"], case["seq"]),)
        return ((case["batch"], case["mels"], case["frames"]),)

    def input_dtypes(self, case: Case) -> tuple[np.dtype, ...]:
        return (np.dtype(np.int64 if self.entry.inputs == "tokens" else np.float32),)

    def index_limit(self, case: Case) -> int:
        return case["vocab"]

    def output_shape(self, case: Case) -> Shape:
        return self.meta_output_shape(case)

    def build_module(self, case: Case) -> Any:
        return self.entry.build(case)

    def finish_weights(self, module: Any, case: Case) -> None:
        trained_looking(module, self.input_shapes(case)[0] if self.entry.inputs == "image" else None)

    def jax_apply(self, params: dict[str, Any], case: Case, *inputs: Any) -> Any:
        raise NotImplementedError(f"{self.name} has only a torch definition")
