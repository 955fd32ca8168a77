"""Sessions: tests, bench-cpu, lint, report, tune (each installs the pinned requirements), and bench-gpu, which
installs nothing: it runs on the interpreter's own packages (the CUDA machine has no network)."""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_venv = "yes"  # reinstalling torch, jax, TVM and IREE for every session costs minutes

REQUIREMENTS = "requirements/cpu.txt"
RAY_REQUIREMENTS = "requirements/ray.txt"  # the optional Ray executor (docs/ray.md)


def install(session: nox.Session, *extra: str) -> None:
    session.install("--upgrade", "pip")
    session.install("-r", REQUIREMENTS, *(arg for path in extra for arg in ("-r", path)))


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (tiny shapes; every backend's correctness, statistics, isolation, resume, the Ray executor
    on a local cluster)."""
    install(session, RAY_REQUIREMENTS)  # so that tests/test_ray_executor.py runs in CI instead of skipping
    env = {"PYTHONHASHSEED": "0"}
    if session.posargs:
        session.run("python", "-m", "pytest", *session.posargs, env=env)
        return
    # Most tests compile in subprocesses and are single-threaded: one worker per core. The `serial` ones measure
    # the machine live (threads, interference, the FMA peak), so they run alone afterwards.
    session.run("python", "-m", "pytest", "tests", "-n", "auto", "-m", "not serial", env=env)
    session.run("python", "-m", "pytest", "tests", "-m", "serial", env=env)


@nox.session(name="bench-cpu")
def bench_cpu(session: nox.Session) -> None:
    """The default CPU matrix: the operator suite, then the quick model subset (two runs, two run ids).

    With arguments, one run of exactly what they select:
    nox -s bench-cpu -- --suite models --backends tvm,onnxruntime --workloads resnet18 [--quick|--full]
    """
    install(session)
    if session.posargs:
        session.run("python", "-m", "suites", "run", "--device", "cpu", *session.posargs)
        return
    session.run("python", "-m", "suites", "run", "--device", "cpu", "--suite", "operators")
    session.run("python", "-m", "suites", "run", "--device", "cpu", "--suite", "models", "--quick")


@nox.session(name="bench-ray")
def bench_ray(session: nox.Session) -> None:
    """One run on a Ray cluster (docs/ray.md): `python -m suites run --executor ray ARGS`, e.g.
    nox -s bench-ray -- --ray-address HEAD:6379 --on cpu=znver5 --on cpu=znver4 --quick
    """
    install(session, RAY_REQUIREMENTS)
    session.run("python", "-m", "suites", "run", "--executor", "ray", *session.posargs)


@nox.session
def report(session: nox.Session) -> None:
    """results/ -> pandas tables, the static site in results/site/ and a text summary.

    nox -s report -- --committed           (only the runs git tracks: how the committed site is built)
    nox -s report -- --format markdown     (or text; --results-dir DIR, --out DIR, --runs ID,ID)
    """
    install(session)
    session.run("python", "-m", "analysis", "report", *session.posargs, env={"PYTHONHASHSEED": "0"})


@nox.session
def tune(session: nox.Session) -> None:
    """MetaSchedule tuning curves, the TVM backend's study (backends/tvm/tuning_curves.py; long: hours on 2 cores;
    progress on stderr, records reused from results/cache).

    nox -s tune -- --max-trials 512 --workloads matmul --cost-models xgb    (defaults: 256 trials, every series)
    nox -s tune -- --resume RUN_ID       continue a killed run;   python -m suites tune status
    """
    install(session)
    session.run("python", "-m", "suites", "tune", "run", *session.posargs, env={"PYTHONHASHSEED": "0"})


# The GPU matrix: every backend that has a CUDA path, plus those that do not, so that the record says why.
GPU_OPERATOR_BACKENDS = "torch-eager,inductor,triton,xla,cublas,onnxruntime,tvm,iree"
GPU_MODEL_BACKENDS = "torch-eager,inductor,xla,triton,onnxruntime,tvm,iree"
# Operators in float32 (TF32 off), tf32, float16 and bfloat16; models in float16.
GPU_RUNS = (
    [("operators", GPU_OPERATOR_BACKENDS, dtype) for dtype in ("float32", "tf32", "float16", "bfloat16")]
    + [("models", GPU_MODEL_BACKENDS, "float16")]
)


@nox.session(name="bench-gpu", venv_backend="none")
def bench_gpu(session: nox.Session) -> None:
    """The CUDA matrix with the packages already installed (no venv, no install: the GPU machine has no network).

    Runs `$MLCOMPARE_PYTHON -m suites run --device cuda` (default python3) once per suite and precision in GPU_RUNS;
    arguments after -- go to every run and win over these, e.g. nox -s bench-gpu -- --quick
    """
    python = os.environ.get("MLCOMPARE_PYTHON", "python3")
    for suite, backends, dtype in GPU_RUNS:
        session.run(python, "-m", "suites", "run", "--device", "cuda", "--suite", suite, "--backends", backends,
                    "--dtype", dtype, *session.posargs, external=True)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff==0.17.5")
    session.run("ruff", "check", ".")
