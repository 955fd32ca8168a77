"""Sessions: `nox -s tests`, `nox -s bench-cpu`, `nox -s lint`. Each installs the pinned requirements."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_venv = "yes"  # reinstalling torch, jax, TVM and IREE for every session costs minutes

REQUIREMENTS = "requirements/cpu.txt"


def install(session: nox.Session) -> None:
    session.install("--upgrade", "pip")
    session.install("-r", REQUIREMENTS)


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (tiny shapes; every backend's correctness, statistics, isolation, resume)."""
    install(session)
    session.run("python", "-m", "pytest", "tests", *session.posargs, env={"PYTHONHASHSEED": "0"})


@nox.session(name="bench-cpu")
def bench_cpu(session: nox.Session) -> None:
    """The default CPU matrix. Filters: nox -s bench-cpu -- --backends tvm,onnxruntime --workloads matmul --quick"""
    install(session)
    session.run("python", "-m", "suites", "run", "--device", "cpu", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff==0.17.5")
    session.run("ruff", "check", ".")
