"""Apache TVM: its adapters and the studies that run on them.

Adapters (registered in backends/__init__.py):
- relax.py        "tvm": Relax import (torch.export or ONNX), default pipeline, graph levels, or MetaSchedule tuning
                  (tuning.py: the tuning databases under results/cache/tvm/);
- te.py           "tvm-te": tensor expressions with the hand-written schedule ladder of te_schedules.py;
- metaschedule.py "tvm-ms": MetaSchedule tuning-curve points (the best kernel after N trials).
Per-workload trial budgets are in workload_settings.py (the graph-level study's models in backends/graph_study.py,
shared with ONNX Runtime); common.py holds
the host target and the PrimFunc runner.

Studies (each a command, `python -m suites tune ...` dispatches to the first):
- tuning_curves.py: best-so-far GFLOP/s against trials and tuning time (`nox -s tune`);
- deploy.py:        a tuned kernel or model exported and reloaded with the TVM runtime only.
Nothing here imports tvm at module level: adapters import it inside prepare, in the cell's subprocess.
"""
