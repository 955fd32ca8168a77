"""torch.compile with the Inductor backend (C++/OpenMP codegen on CPU, Triton on GPU).

Variants:
- "default", "max-autotune" (stock): torch.compile(mode=...) with Inductor's defaults.
- "freezing", "freezing-max-autotune" (expert): the same with torch._inductor.config.freezing=True, the way
  PyTorch's own CPU inference benchmarks run (benchmarks/dynamo --freezing): weights become constants, so Inductor
  folds them and prepacks them for its GEMM/conv kernels (max-autotune's C++ GEMM template needs frozen weights).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from backends.base import Backend, Prepared, Setting, Task
from backends.torch_common import TORCH_CAPABILITIES, torch_module, torch_prepared, torch_thread_env
from models.workload import Case, Workload

FREEZING = "torch._inductor.config.freezing"
# variant -> (torch.compile mode, freezing)
MODES = {
    "default": ("default", False),
    "max-autotune": ("max-autotune", False),
    "freezing": ("default", True),
    "freezing-max-autotune": ("max-autotune", True),
}

_FREEZING_SETTING = Setting(
    FREEZING, "True",
    "pytorch/pytorch benchmarks/dynamo/common.py (--freezing; the x86 CPU inductor perf dashboard runs with it); "
    "https://pytorch.org/tutorials/prototype/max_autotune_on_CPU_tutorial.html (TORCHINDUCTOR_FREEZING=1)",
    "inlines the module's parameters as constants (inference only, under no_grad/inference_mode), so Inductor "
    "constant-folds them and prepacks weights for its mkldnn/C++ GEMM kernels")
_MAX_AUTOTUNE_SETTING = Setting(
    "torch.compile(mode=...)", "max-autotune",
    "https://pytorch.org/tutorials/prototype/max_autotune_on_CPU_tutorial.html; torch/_inductor/utils.py "
    "use_cpp_gemm_template (the C++ GEMM template is only chosen for frozen weights)",
    "benchmarks the candidate GEMM kernels (ATen, C++ template) on the first call and keeps the fastest")


class InductorBackend(Backend):
    name = "inductor"
    description = "torch.compile(backend='inductor')"
    variants = tuple(MODES)
    modules = ("torch",)
    packages = ("torch",)
    thread_knob = "torch.set_num_threads(n) + OMP_NUM_THREADS (Inductor's OpenMP kernels)"
    capabilities = TORCH_CAPABILITIES
    variant_settings: ClassVar[Mapping[str, tuple[Setting, ...]]] = {
        "max-autotune": (_MAX_AUTOTUNE_SETTING,),
        "freezing": (_FREEZING_SETTING,),
        "freezing-max-autotune": (_FREEZING_SETTING, _MAX_AUTOTUNE_SETTING),
    }
    expert_variants = ("freezing", "freezing-max-autotune")

    def thread_env(self, threads: int) -> dict[str, str]:
        return torch_thread_env(threads)

    def variants_for(self, workload: Workload, case: Case) -> tuple[str, ...]:
        # An operator takes all its tensors as inputs: there are no weights to freeze, so the freezing variants would
        # compile the same graph twice. Offered on models only (where default is then the stock path).
        return self.variants if workload.kind == "model" else ("default", "max-autotune")

    def prepare(self, task: Task) -> Prepared:
        import torch

        mode, freezing = MODES[task.variant]
        module = torch_module(task)
        # fullgraph: a graph break would silently fall back to eager and flatter the numbers.
        compiled = torch.compile(module, mode=mode, fullgraph=True, dynamic=False)
        # torch.compile is lazy: tracing, Inductor codegen (and max-autotune's benchmarking) happen on the first call.
        # PyTorch's own benchmark harness (benchmarks/dynamo) times that first call as the compilation latency; there
        # is no eager compile API for torch.compile (AOTInductor is another deployment path), so compile_s is only
        # the wrapping and first_run_s holds the compilation: compare compile_s + first_run_s across backends.
        details: dict[str, Any] = {"mode": mode, "fullgraph": True, "first_call_compiles": True}
        seen: dict[str, Any] = {}
        fn = _first_call_with_freezing(compiled, freezing, seen)
        prepared = torch_prepared(task, fn, details=details)
        prepared.after_first_run = lambda: dict(seen)
        return prepared


def _first_call_with_freezing(compiled: Any, freezing: bool, seen: dict[str, Any]) -> Callable[..., Any]:
    """`compiled`, whose first call (where Inductor compiles) runs with config.freezing set as asked.

    The patch is scoped to that call rather than the process, so cells run in one process (tests) do not leak it;
    Inductor reads the flag only while compiling, and the compiled graph keeps it (Dynamo does not guard on
    Inductor's config, so later calls outside the patch do not recompile). The patch is thread-local, as is
    the compilation (it happens in the calling thread). `seen` gets what Inductor's check
    (`config.freezing and not torch.is_grad_enabled()`, compile_fx.py) read at that call.
    """
    import torch
    import torch._inductor.config as inductor_config

    pending = [True]

    def call(*args: Any) -> Any:
        if not pending:
            return compiled(*args)
        pending.clear()
        scope = inductor_config.patch(freezing=True) if freezing else contextlib.nullcontext()
        with scope:
            seen.update(freezing=bool(inductor_config.freezing), grad_enabled_at_compile=torch.is_grad_enabled())
            return compiled(*args)

    return call
