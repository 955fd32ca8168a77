"""What the TVM backend does differently per workload: MetaSchedule's trial budget per tuning task.

These are the backend's choices, not properties of the workloads (models/ stays backend-neutral). The budgets below
are floors for models: where this CPU has a deeper complete database of the model that schedules every kernel of a
cell (a whole-model tuning curve's, `python -m suites tune-model`), the cell uses it, costing no new tuning, and
records the budget it ran at (`trials`, `budget_source`); see backends/tvm/tuning.py: deeper_budget.
"""

from __future__ import annotations

from models.workload import Workload

# Trials per tuning task (fused TIR function). The global budget is this times the number of tasks, as TVM's
# static_shape_tuning docs advise: a shared global budget leaves some kernels with none (naive loops).
# Operators: 32 keeps the first (cold-cache) default CPU run's tuning near 25 minutes on 2 cores; on matmul 512,
# 64 trials reached ~90% of what 256 did.
OPERATOR_TRIALS = 32
# Models: the per-model tuning budget, 16 unless listed below.
MODEL_TRIALS = 16
MODEL_TRIALS_BY_NAME = {
    "mlp": 32,
    # About 20 distinct fused kernels each; the MetaSchedule budget is per model.
    "resnet18": 8,
    "mobilenet_v2": 8,
    # 8 trials per kernel, like the conv nets: the full model suite (every import path tuned) then fits in about
    # 1.5 h on 2 cores. Enough for MetaSchedule to leave naive loops; not a converged tuning (see the tuning study).
    "bert_encoder": 8,
    "gpt_decoder": 8,
}


# The model zoo (models/zoo): 8 trials per kernel, the hand-written networks' budget. Seventeen real networks of
# 20-60 distinct kernels each: at 16 the zoo's tuning alone would take most of a day on 2 cores. A stated budget,
# not a converged one: the cost per model is recorded (tuning_s) and the tuning study shows what more buys.
ZOO_PREFIX, ZOO_TRIALS = "zoo.", 8


def trials_per_task(workload: Workload) -> int:
    if workload.kind != "model":
        return OPERATOR_TRIALS
    if workload.name.startswith(ZOO_PREFIX):
        return ZOO_TRIALS
    return MODEL_TRIALS_BY_NAME.get(workload.name, MODEL_TRIALS)
