"""MetaSchedule tuning for the TVM adapter, with tuning databases cached under results/cache/tvm/.

A database directory holds MetaSchedule's JSON records plus mlcompare's ledger (META_FILE): which tuning
tasks it covers and what tuning each cost. A cell tunes only the tasks (fused kernels) that have no record
yet, in a scratch directory, then merges them into the cached database and swaps the directory in whole, so
a run killed mid-tune never leaves a half-tuned database behind. Operators get one database per case (the
key includes a hash of the fused module); a model shares one database across its cases and import paths,
as a TVM user would reuse records: ResNet-18 from ONNX then retunes only the kernels that differ from the
torch.export import.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from backends.base import Task
from backends.tvm.cost_model_patch import NAME as PATCH_NAME
from backends.tvm.cost_model_patch import SOURCE as PATCH_SOURCE
from backends.tvm.cost_model_patch import empty_candidates_tolerated
from backends.tvm.workload_settings import trials_per_task

# Overrides every workload's trial budget (backends/tvm/workload_settings.py), e.g. for a short test.
TRIALS_ENV = "MLCOMPARE_TVM_TRIALS"
# A smaller budget whose database a tuning continues (the whole-model tuning curve, backends/tvm/model_curve.py):
# its records seed the search and only the extra trials per task are run, so that budget N costs N trials in all.
CONTINUE_ENV = "MLCOMPARE_TVM_CONTINUE_FROM"
# Candidates measured per search round: several rounds let the cost model learn within a small budget.
TRIALS_PER_ITER = 16
# Written last: a database directory without it was interrupted and is wiped.
META_FILE = "mlcompare_tuning.json"
# MetaSchedule's JSONDatabase files (a database directory's records).
DATABASE_FILES = ("database_workload.json", "database_tuning_record.json")


def trial_budget(task: Task) -> int:
    value = os.environ.get(TRIALS_ENV, "")
    if not value.strip():
        return trials_per_task(task.workload)
    trials = int(value)
    if trials <= 0:
        raise ValueError(f"{TRIALS_ENV} must be a positive integer, got {value!r}")
    return trials


def tune(task: Task, mod: Any, target: Any, details: dict[str, Any]) -> Any:
    """Fuse and legalize as "static_shape_tuning" does, tune the kernels with no record yet, apply the database."""
    import tvm
    from tvm import relax
    from tvm.s_tir import meta_schedule as ms

    trials = trial_budget(task)
    prepack = weight_prepack(task)
    with target:
        mod = tvm.transform.Sequential(
            [
                relax.transform.DecomposeOpsForInference(),
                relax.transform.CanonicalizeBindings(),
                relax.get_pipeline("zero"),  # LegalizeOps + FuseOps + FuseTIR: the functions that get tuned
                # cpu_weight_prepack: weights (constants here) become layout-free buffers, so MetaSchedule's
                # RewriteLayout may store them in the layout each tuned kernel reads best.
                *([relax.transform.AttachAttrLayoutFreeBuffers()] if prepack else []),
            ]
        )(mod)

    extracted = ms.relax_integration.extract_tasks(mod, target)
    if task.workload.kind == "model" and not os.environ.get(TRIALS_ENV, "").strip():
        # A deeper database of this model on this CPU (a tuning curve's) that already schedules every kernel.
        def covers(directory: Path) -> bool:
            found = ms.database.JSONDatabase(work_dir=str(directory), allow_missing=False)
            return not _unscheduled(found, extracted, target)

        deeper = deeper_budget(task.cache_dir, database_key(task, target, trials, tvm.__version__, mod), trials,
                               covers)
        if deeper is not None:
            details["budget_source"] = (f"the {deeper}-trial database on this CPU covers every kernel (a tuning "
                                        f"curve's); the default budget is {trials}")
            trials = deeper
    db_dir = task.cache_dir / database_key(task, target, trials, tvm.__version__, mod)
    _recover(db_dir)
    meta = json.loads((db_dir / META_FILE).read_text()) if (db_dir / META_FILE).is_file() else None
    if meta is None:
        shutil.rmtree(db_dir, ignore_errors=True)  # records without a ledger: an interrupted older layout
    database = ms.database.JSONDatabase(work_dir=str(db_dir), allow_missing=False) if meta else None
    missing = extracted if database is None else _unscheduled(database, extracted, target)
    tuning_s = 0.0
    if missing:
        scratch = db_dir.with_name(db_dir.name + ".tuning")
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        seed = _continued_database(task, target, mod, trials, tvm.__version__) if meta is None else None
        if seed is not None:  # its records go into the scratch database; MetaSchedule's search starts from them
            for name in DATABASE_FILES:
                shutil.copy2(seed[0] / name, scratch / name)
        extra = trials - seed[1]["trials_per_task"] if seed is not None else trials
        new_meta = run_tuner(task, missing, target, scratch, extra)
        tuning_s = new_meta["tuning_s"]
        if seed is not None:
            new_meta = _continued_meta(new_meta, seed[1], trials)
        meta = _merge(db_dir, scratch, meta, new_meta, details["target"])
        database = ms.database.JSONDatabase(work_dir=str(db_dir), allow_missing=False)
    assert meta is not None and database is not None

    with target, database:
        mod = relax.transform.MetaScheduleApplyDatabase(enable_warning=True)(mod)
    if prepack:  # the weight re-layouts become separate functions, folded into the constants at compile time
        with target:
            mod = tvm.transform.Sequential([relax.transform.SplitLayoutRewritePreproc(),
                                            relax.transform.LiftTransformParams(), relax.transform.FoldConstant(),
                                            # the folded re-layout functions: never called, not compiled
                                            relax.transform.DeadCodeElimination(["main"])])(mod)
        # kernels that read a weight in their tuned layout (the re-layout done once, at compile time)
        details["prepacked_kernels"] = sum(1 for gv, _ in mod.functions_items() if gv.name_hint.endswith("_prepacked"))
    per_task = meta.get("per_task", {})
    keys = [task_key(t) for t in extracted]
    known = all(k in per_task for k in keys)
    details.update(
        pipeline=f"static_shape_tuning (MetaSchedule, seed 0{', cpu_weight_prepack' if prepack else ''}) + default",
        trials=trials,
        tuning_tasks=len(extracted),
        tuning_tasks_tuned_now=len(missing),
        tuning_s=tuning_s,
        # What tuning this cell's kernels cost when they were tuned (apportioned by trials when tuned together).
        tuning_s_original=sum(per_task[k]["tuning_s"] for k in keys) if known else meta["tuning_s"],
        tensor_intrin_import_s=meta["tensor_intrin_import_s"],
        tuning_cached=not missing,
        continued_from=meta.get("continued_from"),  # the smaller budget this database grew from (tuning curve)
        tuning_dir=str(db_dir),
        tuned_funcs=count_scheduled(mod),
    )
    return mod


def _unscheduled(database: Any, extracted: list[Any], target: Any) -> list[Any]:
    """The extracted tuning tasks `database` holds no record for."""
    return [t for t in extracted if database.query_tuning_record(t.dispatched[0], target, t.task_name) is None]


def weight_prepack(task: Task) -> bool:
    """Whether the cell tunes as static_shape_tuning_pipeline(cpu_weight_prepack=True) does (`*-prepack` variants)."""
    return task.variant.endswith("-prepack")


def deeper_budget(cache_dir: Path, key: str, trials: int, covers: Callable[[Path], bool]) -> int | None:
    """The largest budget above `trials` with a complete database (`key` at another budget) that `covers` the
    cell's kernels, else None. A model's default budget stays the floor; a deeper one is used only where it costs
    no new tuning, so the suite's cells pick up what `python -m suites tune-model` tuned on this CPU."""
    prefix, _, suffix = key.partition(f"-t{trials}-")
    found = []
    for directory in cache_dir.glob(f"{prefix}-t*-{suffix}") if suffix else ():
        budget = directory.name.removeprefix(f"{prefix}-t").removesuffix(f"-{suffix}")
        if budget.isdigit() and int(budget) > trials and (directory / META_FILE).is_file():
            found.append((int(budget), directory))
    return next((budget for budget, directory in sorted(found, reverse=True) if covers(directory)), None)


def _continued_database(task: Task, target: Any, mod: Any, trials: int, version: str,
                        ) -> tuple[Path, dict[str, Any]] | None:
    """The smaller budget's database named by CONTINUE_ENV, with its ledger; None when not asked or not there."""
    value = os.environ.get(CONTINUE_ENV, "").strip()
    if not value:
        return None
    smaller = int(value)
    if not 0 < smaller < trials:
        raise ValueError(f"{CONTINUE_ENV}={value} must be a positive budget below this one ({trials})")
    seed_dir = task.cache_dir / database_key(task, target, smaller, version, mod)
    if not (seed_dir / META_FILE).is_file():
        raise FileNotFoundError(f"{CONTINUE_ENV}={value}: no tuned database {seed_dir.name} to continue")
    return seed_dir, json.loads((seed_dir / META_FILE).read_text())


def _continued_meta(new_meta: dict[str, Any], seed_meta: dict[str, Any], trials: int) -> dict[str, Any]:
    """A continued database's ledger: every figure cumulative over the budgets it grew through."""
    per_task = {key: {**entry, "tuning_s": entry["tuning_s"] + seed_meta.get("per_task", {}).get(key, {})
                      .get("tuning_s", 0.0)} for key, entry in new_meta["per_task"].items()}
    return {**new_meta, "per_task": per_task, "trials_per_task": trials,
            "tuning_s": seed_meta["tuning_s"] + new_meta["tuning_s"], "tuning_s_this_budget": new_meta["tuning_s"],
            "continued_from": {"trials_per_task": seed_meta["trials_per_task"], "tuning_s": seed_meta["tuning_s"]}}


def task_key(extracted_task: Any) -> str:
    import tvm_ffi

    return f"{tvm_ffi.structural_hash(extracted_task.dispatched[0]):016x}"


def run_tuner(task: Task, tasks: list[Any], target: Any, work_dir: Path, trials: int) -> dict[str, Any]:
    """Tune `tasks` (MetaSchedule ExtractedTasks) into the JSON database in `work_dir`; return the metadata."""
    import tvm
    from tvm.s_tir import meta_schedule as ms

    # MetaSchedule copies its DEBUG log to stdout at the logger's level; the full log stays in work_dir/logs.
    logging.getLogger("tvm.s_tir.meta_schedule").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    # TuneContext imports this first; timed apart because it alone takes 30-60 s here (TVMScript parsing).
    import tvm.s_tir.tensor_intrin

    import_s = time.perf_counter() - t0
    with _unnamed_handlers_detached(logging.getLogger("tvm.s_tir.meta_schedule")):
        contexts, weights = ms.relax_integration.extracted_tasks_to_tune_contexts(
            tasks, str(work_dir), num_threads=task.threads, seed=0
        )
    per_iter = min(TRIALS_PER_ITER, trials)
    with empty_candidates_tolerated():
        database = ms.tune.tune_tasks(
            tasks=contexts,
            task_weights=weights,
            work_dir=str(work_dir),
            max_trials_global=trials * len(contexts),
            max_trials_per_task=trials,
            num_trials_per_iter=per_iter,
            builder=ms.builder.LocalBuilder(max_workers=task.threads, timeout_sec=120, f_build=build_candidate()),
        )
    tuning_s = time.perf_counter() - t0
    # Tasks are tuned round-robin in one process: apportion the wall time by each task's measured trials.
    counts = {task_key(t): _record_count(database, t) for t in tasks}
    total = sum(counts.values()) or 1
    per_task = {key: {"tuning_s": tuning_s * n / total, "trials": n, "cell": f"{task.workload.name}/{task.case.label}"}
                for key, n in counts.items()}
    return {"tuning_s": tuning_s, "tensor_intrin_import_s": import_s, "trials_per_task": trials,
            "trials_per_iter": per_iter, "seed": 0, "tasks": len(contexts), "tvm": tvm.__version__,
            "workarounds": [f"{PATCH_NAME} ({PATCH_SOURCE})"],
            "workload": task.workload.name, "case": task.case.label, "per_task": per_task}


@contextlib.contextmanager
def _unnamed_handlers_detached(logger: logging.Logger) -> Iterator[None]:
    """MetaSchedule rebuilds its loggers with dictConfig, naming every handler already on its logger; an unnamed
    one (pytest attaches its capture handler to non-propagating loggers, e.g. after an earlier tuning in the same
    process) breaks that. Such handlers are set aside while the loggers are built."""
    unnamed = [h for h in logger.handlers if h.get_name() is None]
    for handler in unnamed:
        logger.removeHandler(handler)
    try:
        yield
    finally:
        for handler in unnamed:
            logger.addHandler(handler)


def _record_count(database: Any, extracted_task: Any) -> int:
    mod = extracted_task.dispatched[0]
    if not database.has_workload(mod):
        return 0
    return len(database.get_top_k(database.commit_workload(mod), 1 << 20))


def _merge(db_dir: Path, scratch: Path, old_meta: dict[str, Any] | None, new_meta: dict[str, Any],
           target: dict[str, Any]) -> dict[str, Any]:
    """Write old + new records to a staging directory, then swap it in for `db_dir` (rename: all or nothing)."""
    from tvm.s_tir import meta_schedule as ms

    staging = db_dir.with_name(db_dir.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    merged = ms.database.JSONDatabase(work_dir=str(staging))
    sources = [d for d in (db_dir if old_meta else None, scratch) if d is not None]
    for source in sources:
        for rec in ms.database.JSONDatabase(work_dir=str(source), allow_missing=False).get_all_tuning_records():
            workload = merged.commit_workload(rec.workload.mod)
            merged.commit_tuning_record(
                ms.database.TuningRecord(rec.trace, workload, rec.run_secs, rec.target, rec.args_info))
    meta = dict(new_meta)
    meta["per_task"] = {**(old_meta or {}).get("per_task", {}), **new_meta["per_task"]}
    meta["tuning_s"] = (old_meta or {}).get("tuning_s", 0.0) + new_meta["tuning_s"]  # the whole database's cost
    meta["target"] = target
    (staging / META_FILE).write_text(json.dumps(meta, indent=1))
    if (scratch / "logs").is_dir():
        shutil.move(str(scratch / "logs"), str(staging / "logs"))
    old = db_dir.with_name(db_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if db_dir.exists():
        db_dir.rename(old)
    staging.rename(db_dir)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)
    return meta


def _recover(db_dir: Path) -> None:
    """Finish a swap that a kill interrupted between its two renames."""
    old = db_dir.with_name(db_dir.name + ".old")
    if not db_dir.exists() and (old / META_FILE).is_file():
        old.rename(db_dir)


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


def database_key(task: Task, target: Any, trials: int, version: str, mod: Any) -> str:
    """The database directory's name, safe as a file name.

    Operators: one per (workload, case, cpu, cores, trials, TVM version, hash of the fused module), so a
    changed definition starts afresh. Models: one per (model, cpu, cores, trials, TVM version), shared by
    cases and import paths; kernels it lacks are tuned and added.
    """
    import tvm_ffi

    # Prepacked weights change every kernel's buffers: its own database (and the old keys stay as they were).
    settings = f"{target.mcpu}-c{task.threads}-t{trials}-{'prepack-' if weight_prepack(task) else ''}tvm{version}"
    if task.workload.kind == "model":
        raw = f"model-{task.workload.name}-{settings}"
    else:
        digest = f"{tvm_ffi.structural_hash(mod):016x}"[:8]
        raw = f"{task.workload.name}-{task.case.label}-{settings}-{digest}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", raw)


def count_scheduled(mod: Any) -> str:
    """'k/n': how many TIR functions got a schedule from the database (a mismatch leaves them naive)."""
    import tvm

    funcs = [f for _, f in mod.functions_items() if isinstance(f, tvm.tirx.PrimFunc)]
    done = sum(1 for f in funcs if f.attrs is not None and bool(f.attrs.get("tirx.is_scheduled", False)))
    return f"{done}/{len(funcs)}"
