"""The graph-level optimisation study: the models on which the backends with optimisation-level variants (TVM's
untuned-O1/O2, ONNX Runtime's opt-disable/basic/extended) run every level, keyed by workload name.

A CNN, where BatchNorm folding and Conv+BN+ReLU fusion have the most to do; the other models run only the defaults.
"""

from __future__ import annotations

GRAPH_STUDY_MODELS = ("resnet18",)
