"""Apache TVM Relax: torch.export -> Relax, built with the default pipeline or tuned with MetaSchedule.

"untuned" is what `tvm.compile(mod, target)` gives a user (on CPU: naive loops, no fusion, no threads).
"tuned" runs the passes of TVM's "static_shape_tuning" pipeline with MetaSchedule driven directly (to fix
the seed and the tuning core count), then the same `tvm.compile`. Tuning databases are cached under
`task.cache_dir`, keyed by everything that changes the result, so that a re-run applies them instead of retuning.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from backends.base import Backend, Prepared, Task, Unsupported

# Trials per tuning task (fused TIR function); the global budget is this times the number of tasks, as
# TVM's static_shape_tuning docs advise: a shared global budget leaves some kernels with none (naive loops).
# 32 keeps the first (cold-cache) default CPU run's tuning near 25 minutes on 2 cores; on matmul 512, 64 trials
# reached ~90% of what 256 did. Longer budgets and tuning curves belong to the tuning study.
DEFAULT_TRIALS = 32
TRIALS_ENV = "MLCOMPARE_TVM_TRIALS"
# Candidates measured per search round: several rounds let the cost model learn within a small budget.
TRIALS_PER_ITER = 16
# Written last: a cache directory without it was interrupted mid-tune and is wiped.
META_FILE = "mlcompare_tuning.json"


def trial_budget() -> int:
    value = os.environ.get(TRIALS_ENV, "")
    trials = int(value) if value.strip() else DEFAULT_TRIALS
    if trials <= 0:
        raise ValueError(f"{TRIALS_ENV} must be a positive integer, got {value!r}")
    return trials


class TvmBackend(Backend):
    name = "tvm"
    description = "Apache TVM Relax (torch.export frontend, LLVM CPU codegen, MetaSchedule tuning)"
    variants = ("untuned", "tuned")
    modules = ("tvm",)
    packages = ("apache-tvm", "apache-tvm-ffi")
    thread_knob = "TVM_NUM_THREADS=n (runtime thread pool, also used by tuning measurements) + target num-cores=n"

    def thread_env(self, threads: int) -> dict[str, str]:
        return {"TVM_NUM_THREADS": str(threads)}

    def prepare(self, task: Task) -> Prepared:
        import tvm
        from tvm import relax

        if task.device != "cpu":
            raise Unsupported(f"mlcompare builds TVM for cpu only, not {task.device}")
        t0 = time.perf_counter()
        mod = import_torch(task)
        details: dict[str, Any] = {"export_s": time.perf_counter() - t0, "tvm": tvm.__version__}

        cpu = tvm.target.codegen.llvm_get_system_cpu()
        target = tvm.target.Target({"kind": "llvm", "mcpu": cpu, "num-cores": task.threads})
        details["target"] = {"kind": "llvm", "mcpu": cpu, "num-cores": task.threads}
        if task.variant == "untuned":
            details["pipeline"] = "default"
        elif task.variant == "tuned":
            mod = tune(task, mod, target, details)
        else:
            raise Unsupported(f"unknown tvm variant {task.variant!r}")

        ex = tvm.compile(mod, target)  # relax_pipeline="default": legalize + lower (already done when tuned)
        details["artifact_bytes"] = artifact_bytes(ex, task.workdir)
        device = tvm.cpu()
        vm = relax.VirtualMachine(ex, device)
        main = vm["main"]
        args = [tvm.runtime.tensor(np.ascontiguousarray(a), device) for a in task.inputs]

        def run() -> Any:
            out = main(*args)
            device.sync()  # CPU kernels return when done; sync keeps run() honest for async devices too
            return out

        return Prepared(run=run, fetch=to_numpy, details=details)


def import_torch(task: Task) -> Any:
    """torch.export the workload's module and translate it to a Relax IRModule."""
    import torch
    from tvm.relax.frontend.torch import from_exported_program

    tensors = tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in task.inputs)
    exported = torch.export.export(task.workload.torch_module(task.case), tensors)
    try:
        return from_exported_program(exported)
    except NotImplementedError as exc:
        raise Unsupported(f"TVM torch frontend: {exc}") from exc
    except AssertionError as exc:
        # The frontend asserts when an aten op has no converter.
        if "Unsupported function types" in str(exc):
            raise Unsupported(f"TVM torch frontend: {exc}") from exc
        raise


def tune(task: Task, mod: Any, target: Any, details: dict[str, Any]) -> Any:
    """Fuse and legalize as "static_shape_tuning" does, tune (or reuse the cached database), apply it."""
    import tvm
    from tvm import relax
    from tvm.s_tir import meta_schedule as ms

    trials = trial_budget()
    with target:
        mod = tvm.transform.Sequential(
            [
                relax.transform.DecomposeOpsForInference(),
                relax.transform.CanonicalizeBindings(),
                relax.get_pipeline("zero"),  # LegalizeOps + FuseOps + FuseTIR: the functions that get tuned
            ]
        )(mod)

    work_dir = task.cache_dir / cache_key(task, target, trials, tvm.__version__, mod)
    meta_path = work_dir / META_FILE
    cached = meta_path.is_file()
    if not cached:
        shutil.rmtree(work_dir, ignore_errors=True)  # a half-tuned leftover of a killed run
        work_dir.mkdir(parents=True)
        meta = run_tuner(task, mod, target, work_dir, trials) | {"target": details["target"]}
        tmp = meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, indent=1))
        os.replace(tmp, meta_path)  # atomic: the directory counts as tuned only from here on
    meta = json.loads(meta_path.read_text())

    database = ms.database.JSONDatabase(work_dir=str(work_dir), allow_missing=False)
    with target, database:
        mod = relax.transform.MetaScheduleApplyDatabase(enable_warning=True)(mod)
    details.update(
        pipeline="static_shape_tuning (MetaSchedule, seed 0) + default",
        trials=trials,
        tuning_tasks=meta["tasks"],
        tuning_s=0.0 if cached else meta["tuning_s"],
        tuning_s_original=meta["tuning_s"],
        tensor_intrin_import_s=meta["tensor_intrin_import_s"],
        tuning_cached=cached,
        tuning_dir=str(work_dir),
        tuned_funcs=count_scheduled(mod),
    )
    return mod


def run_tuner(task: Task, mod: Any, target: Any, work_dir: Path, trials: int) -> dict[str, Any]:
    """Tune every fused TIR function of `mod` into the JSON database in `work_dir`; return the metadata."""
    import logging

    import tvm
    from tvm.s_tir import meta_schedule as ms

    # MetaSchedule copies its DEBUG log to stdout at the logger's level; the full log stays in work_dir/logs.
    logging.getLogger("tvm.s_tir.meta_schedule").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    # TuneContext imports this first; timed apart because it alone takes 30-60 s here (TVMScript parsing).
    import tvm.s_tir.tensor_intrin

    import_s = time.perf_counter() - t0
    extracted = ms.relax_integration.extract_tasks(mod, target)
    contexts, weights = ms.relax_integration.extracted_tasks_to_tune_contexts(
        extracted, str(work_dir), num_threads=task.threads, seed=0
    )
    per_iter = min(TRIALS_PER_ITER, trials)
    ms.tune.tune_tasks(
        tasks=contexts,
        task_weights=weights,
        work_dir=str(work_dir),
        max_trials_global=trials * len(contexts),
        max_trials_per_task=trials,
        num_trials_per_iter=per_iter,
        builder=ms.builder.LocalBuilder(max_workers=task.threads, timeout_sec=120, f_build=build_candidate()),
    )
    return {
        "tuning_s": time.perf_counter() - t0,
        "tensor_intrin_import_s": import_s,
        "trials_per_task": trials,
        "trials_per_iter": per_iter,
        "seed": 0,
        "tasks": len(contexts),
        "tvm": tvm.__version__,
        "workload": task.workload.name,
        "case": task.case.label,
    }


def build_candidate() -> Any:
    """MetaSchedule's default candidate build, minus its `import tvm.s_tir.tensor_intrin`.

    That import parses every GPU tensor intrinsic (35 s on this 2-core machine) in each fresh builder
    worker of each batch, which trips the builder's timeout and fails every candidate. A scheduled
    candidate already has any tensorized body inlined, so the build itself does not need the registry.
    Defined locally so that cloudpickle ships it by value: the workers need not import mlcompare.
    """

    def build(mod: Any, target: Any, _params: Any) -> Any:
        from tvm.driver import build as tvm_build
        from tvm.s_tir.transform import RemoveWeightLayoutRewriteBlock

        return tvm_build(RemoveWeightLayoutRewriteBlock(skip_tensor_rewrite=True)(mod), target=target)

    return build


def cache_key(task: Task, target: Any, trials: int, version: str, mod: Any) -> str:
    """One directory per (workload, case, cpu, cores, trials, TVM version), safe as a file name.

    A hash of the fused module is appended so that a changed workload definition or frontend retunes
    instead of silently finding no matching records (which would leave naive loops).
    """
    import tvm_ffi

    digest = f"{tvm_ffi.structural_hash(mod):016x}"[:8]
    raw = f"{task.workload.name}-{task.case.label}-{target.mcpu}-c{task.threads}-t{trials}-tvm{version}-{digest}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", raw)


def count_scheduled(mod: Any) -> str:
    """'k/n': how many TIR functions got a schedule from the database (a mismatch leaves them naive)."""
    import tvm

    funcs = [f for _, f in mod.functions_items() if isinstance(f, tvm.tirx.PrimFunc)]
    done = sum(1 for f in funcs if f.attrs is not None and bool(f.attrs.get("tirx.is_scheduled", False)))
    return f"{done}/{len(funcs)}"


def artifact_bytes(ex: Any, workdir: Path) -> int | None:
    """Size of the exported shared library (about 50 ms: it links the already-compiled object code)."""
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / "tvm_module.so"
        ex.export_library(str(path))
        return path.stat().st_size
    except Exception:  # linking needs a C compiler; a side metric must not fail the cell
        return None


def to_numpy(out: Any) -> np.ndarray:
    # The torch frontend returns a tuple of outputs; mlcompare workloads have exactly one.
    if not hasattr(out, "numpy"):
        if len(out) != 1:
            raise ValueError(f"expected one output, got {len(out)}")
        out = out[0]
    return out.numpy()
