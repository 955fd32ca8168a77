"""ONNX Runtime's expert path for transformers: the offline transformer fusion, then an ORT_ENABLE_ALL session.

ORT's own transformer benchmark (onnxruntime/python/tools/transformers/benchmark.py, `--optimizer_info` defaults to
`by_script`) fuses attention, skip+LayerNorm and bias+GELU into ORT's contrib ops before the session loads the model.
Its optimizer.py matches the TorchScript exporter's graphs; for torch.onnx's dynamo export (ours, onnx_export.py)
the same fusions live in onnxscript (`onnxscript.rewriter.ort_fusions.optimize_for_ort`). On our exports the
onnxscript route matches BERT's attention (one com.microsoft Attention per layer) where optimizer.py matches none;
on the GPT decoder both make the same SkipLayerNormalization and FastGelu (optimizer.py also folds the MLP bias into
FastGelu) and neither matches the masked causal attention. So onnxscript is the route, for both models.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from pathlib import Path

from backends.artifacts import reusable, writing
from backends.base import CellRequest, Setting, Task, Unsupported
from backends.onnx_export import OnnxExport

VARIANT = "transformer-fusion"
ROUTE = "onnxscript.rewriter.ort_fusions.optimize_for_ort"
# The workloads the fusion patterns are written for. An explicit list: models/ carries no backend knobs (a test
# checks it), and a fusion offered on a CNN would only ever record an empty fused_ops.
TRANSFORMER_MODELS = ("bert_encoder", "gpt_decoder")
# ORT contrib ops that live in the ONNX domain rather than com.microsoft (not standard ONNX: only a fusion makes them).
_ORT_OPS_IN_ONNX_DOMAIN = frozenset({"SimplifiedLayerNormalization"})

SETTINGS = (
    Setting(
        name="transformer optimizer before the session (benchmark.py --optimizer_info)",
        value="by_script",
        source="microsoft/onnxruntime: onnxruntime/python/tools/transformers/benchmark.py (--optimizer_info defaults "
               "to by_script); https://onnxruntime.ai/docs/performance/transformers-optimization.html",
        effect="the model ORT loads has attention, skip+LayerNorm and bias+GELU already fused into ORT contrib ops, "
               "fusions ORT_ENABLE_ALL does not make at session start",
    ),
    Setting(
        name=ROUTE,
        value="default config, on the dynamo export",
        source="microsoft/onnxscript: onnxscript/rewriter/ort_fusions/_core.py",
        effect="the transformer fusions for torch.onnx dynamo exports: Attention/MultiHeadAttention, "
               "SkipLayerNormalization, BiasGelu/FastGelu, RotaryEmbedding, GroupQueryAttention where they match",
    ),
)


def refusal(request: CellRequest) -> str | None:
    """Why the fusion variant does not apply to a cell's workload (None where it does)."""
    if request.variant != VARIANT or request.workload.name in TRANSFORMER_MODELS:
        return None
    return f"{VARIANT} fuses transformer patterns: offered for {', '.join(TRANSFORMER_MODELS)} only"


@dataclass(frozen=True)
class FusedModel:
    path: Path
    fusion_s: float
    reused: bool  # loaded from the cell's first process (fusion_s is then 0)


def fuse(task: Task, exported: OnnxExport) -> FusedModel:
    """The exported model after the offline fusion: built by the cell's first process, loaded by the rest."""
    name = f"{exported.path.stem}.ort-fused.onnx"
    done = reusable(task.artifact_dir, name)
    if done is not None:
        return FusedModel(done, 0.0, reused=True)
    with writing(task.artifact_dir, name, task.workdir) as partial:
        fusion_s = _optimize_for_ort(exported.path, partial)
    return FusedModel(partial.parent / name, fusion_s, reused=False)


def _optimize_for_ort(source: Path, target: Path) -> float:
    from onnxscript import ir
    from onnxscript.rewriter.ort_fusions import optimize_for_ort

    start = time.perf_counter()
    try:
        model, _ = optimize_for_ort(ir.load(str(source)))
        ir.save(model, str(target))
    except Exception as exc:  # a pattern that breaks on a graph is the route's limit, not a crash of the cell
        raise Unsupported(f"{ROUTE} failed on this model: {type(exc).__name__}: {exc}") from exc
    return time.perf_counter() - start


def fused_ops(path: Path) -> dict[str, int]:
    """ORT contrib op type -> count in the fused model: only what a fusion made (no standard ONNX op counts)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    counts = collections.Counter(n.op_type for n in graph.node
                                 if n.domain == "com.microsoft" or n.op_type in _ORT_OPS_IN_ONNX_DOMAIN)
    return dict(sorted(counts.items()))
