"""Adding a backend is one file plus one registration line, and every adapter refuses cells only through `skip`."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import backends
from backends import BACKEND_MODULES, backend_names, get_backend
from backends.base import Backend, CellRequest
from backends.precision import PRECISIONS
from models import get_workload
from suites.machine import REPO_ROOT
from suites.matrix import Cell, Selection, expand, resolve
from suites.runner import CellOptions, run_cell_isolated
from suites.stats import RepeatPolicy

EXAMPLE = Path(__file__).with_name("example_backend.py")
ONCE = RepeatPolicy(min_runs=2, min_time_s=0.0, max_time_s=1.0, floor_runs=2)
DEVICES = ("cpu", "cuda")
# The methods and class attributes that were refusal paths or capabilities before `skip` and `Capabilities`.
OLD_INTERFACE = ("unsupported_reason", "unavailable_reason", "definition_for", "devices", "precisions", "suites",
                 "definition")


@pytest.fixture
def example_registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example adapter copied outside the repository and registered in one line, as a user would."""
    shutil.copy(EXAMPLE, tmp_path / "my_backend.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the cell's subprocess finds it too
    monkeypatch.setenv("MLCOMPARE_EXTRA_BACKENDS", "example-numpy=my_backend:ExampleNumpyBackend")


@pytest.mark.usefixtures("example_registered")
def test_a_one_file_backend_runs_a_real_cell_end_to_end(tmp_path: Path) -> None:
    assert "example-numpy" in backend_names()
    planned = {p.cell.key: p for p in expand(resolve(Selection(backends=("example-numpy",), scope="quick",
                                                               workloads=("matmul", "softmax"))))}
    assert planned["example-numpy/default/matmul/256x256x256"].skip_status is None
    softmax = planned["example-numpy/default/softmax/1536x128"]
    assert softmax.skip_status == "unsupported" and "matmul only" in softmax.reason

    tiny = get_workload("matmul").tiny_case
    options = CellOptions(threads=1, timeout_s=120, repeat_policy=ONCE, cache_dir=str(tmp_path / "cache"))
    result = run_cell_isolated(Cell("example-numpy", "default", "matmul", tiny), options)
    assert result["status"] == "ok", result.get("traceback", result["reason"])
    assert result["verification"]["passed"] and result["verification"]["last_run_error"] is not None
    # Besides its own details, every record says which path the variant is and what it changes from the defaults.
    assert result["details"] == {"function": "np.matmul", "paths": ["stock", "expert"], "settings": [],
                                 "reference": "NumPy float64"}
    assert result["timing"]["n"] >= 2

    refused = run_cell_isolated(Cell("example-numpy", "default", "matmul", tiny),
                                CellOptions(threads=1, timeout_s=120, dtype="float16", cache_dir=str(tmp_path)))
    assert refused["status"] == "unsupported" and "not float16" in refused["reason"]  # the cell asks skip too


@pytest.mark.parametrize("name", list(BACKEND_MODULES))
def test_adapters_refuse_only_through_skip(name: str) -> None:
    backend = get_backend(name)
    for cls in type(backend).__mro__[:-2]:  # the adapter and its own bases, not Backend and object
        if cls is Backend:
            break
        defined = sorted(set(OLD_INTERFACE) & set(vars(cls)))
        assert not defined, f"{cls.__name__} defines {defined}: declare Capabilities and override skip instead"
    assert not hasattr(backend, "precision_reason")
    assert type(backend).missing_requirement is Backend.missing_requirement  # declare modules/commands instead
    # prepare neither re-checks what skip decided nor refuses: late refusals are raised where they are discovered.
    assert "raise Unsupported" not in inspect.getsource(type(backend).prepare)


@pytest.mark.parametrize("name", list(BACKEND_MODULES))
def test_skip_refuses_every_device_and_precision_outside_the_capabilities(name: str) -> None:
    backend = get_backend(name)
    capabilities = backend.capabilities
    workload = get_workload("matmul")
    case = workload.case(workload.tiny_case)
    variant = backend.variants[0]
    for device in DEVICES:
        skip = backend.skip(CellRequest(workload, case, variant, device, capabilities.precisions[0]))
        if device not in capabilities.devices:
            assert skip is not None and skip.reason, f"{name} does not refuse {device}"
        for precision in PRECISIONS:
            if precision not in capabilities.precisions:
                skip = backend.skip(CellRequest(workload, case, variant, device, precision))
                assert skip is not None and skip.reason, f"{name} does not refuse {precision} on {device}"
    if backend.missing_requirement is None:
        assert all(d in DEVICES for d in capabilities.devices)
        assert set(capabilities.precisions) <= set(PRECISIONS)


def test_a_missing_module_is_unavailable_before_anything_else() -> None:
    class Uninstalled(type(get_backend("numpy"))):  # type: ignore[misc]
        modules = ("mlcompare_no_such_module",)

    workload = get_workload("matmul")
    skip = Uninstalled().skip(CellRequest(workload, workload.case(workload.tiny_case), "default", "cuda", "float16"))
    assert skip is not None and skip.status == "unavailable" and "mlcompare_no_such_module" in skip.reason


def test_adapters_import_neither_heavy_libraries_nor_the_suite() -> None:
    """Registered modules are imported in the parent (matrix, skip): no heavy import, and no import from suites/."""
    code = ("import importlib, sys\n"
            "from backends import BACKEND_MODULES\n"
            "for target in BACKEND_MODULES.values():\n"
            "    importlib.import_module(target.split(':')[0])\n"
            "heavy = ('torch', 'jax', 'tvm', 'onnxruntime', 'halide', 'triton', 'iree', 'suites')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert backends.__file__ and Path(backends.__file__).parent == REPO_ROOT / "backends"


def test_unknown_variants_are_refused_and_budget_variants_are_open_ended() -> None:
    workload = get_workload("matmul")
    case = workload.case(workload.tiny_case)
    skip = get_backend("numpy").skip(CellRequest(workload, case, "blocked"))
    assert skip is not None and skip.reason == "unknown numpy variant 'blocked' (valid: default)"
    tvm_ms = get_backend("tvm-ms")
    if tvm_ms.missing_requirement is None:
        assert tvm_ms.skip(CellRequest(workload, case, "xgb-8")) is None  # a budget not in its standard list
        assert tvm_ms.skip(CellRequest(workload, case, "sgd-8")) is not None


def test_the_readmes_backend_example_is_the_tested_example() -> None:
    """Every line of code the README shows for adding a backend is a line of tests/example_backend.py (comments
    aside), so the README cannot drift from the adapter that the test above runs end to end."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("## Add a backend", 1)[1].split("```python", 1)[1].split("```", 1)[0]

    def code(line: str) -> str:
        return line.split("  #", 1)[0].rstrip()

    example = {code(line) for line in EXAMPLE.read_text().splitlines()}
    shown = [code(line) for line in block.splitlines() if code(line)]
    assert len(shown) >= 10 and [line for line in shown if line not in example] == []
