"""The GPU suite: what can be checked without a GPU (manifest, reasons, environment, nox session, parsing, roofline
arithmetic, the psutil-free fallback), and the CUDA paths themselves, skipped with the reason where there is no GPU.
"""

from __future__ import annotations

import importlib
import shlex
import subprocess
import sys
import time
import types
from typing import Any

import pytest

from backends import CellRequest, get_backend
from models import get_workload
from suites import gpu_calibration, gpu_info, proctree
from suites.benchmark import build_manifest
from suites.cli import build_parser
from suites.device_timing import CudaTimer, timer_for
from suites.machine import REPO_ROOT
from suites.matrix import Cell, Selection, expand, resolve
from suites.runner import CellOptions, cell_environment, run_cell_isolated
from suites.stats import RepeatPolicy


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


CUDA = _cuda()
needs_gpu = pytest.mark.skipif(not CUDA, reason="needs an NVIDIA GPU: torch.cuda.is_available() is False here")
QUICK = RepeatPolicy(min_runs=5, min_time_s=0.0, max_time_s=2.0)


# --- without a GPU ----------------------------------------------------------------------------------------------


def test_manifest_gpu_section_only_for_cuda_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    selection = resolve(Selection(backends=("numpy",), workloads=("matmul",)))
    assert "gpu" not in build_manifest("r", selection, CellOptions(threads=1), "cmd")
    monkeypatch.setattr("suites.benchmark.describe_gpu", lambda calibrate: {"stub": calibrate})
    cuda = build_manifest("r", resolve(Selection(backends=("torch-eager",), workloads=("matmul",), device="cuda")),
                          CellOptions(threads=1, device="cuda", dtype="float16"), "cmd")
    assert cuda["gpu"] == {"stub": True} and cuda["dtype"] == "float16"


def test_cuda_only_and_cpu_only_backends_say_why() -> None:
    cpu = {p.cell.backend: p for p in expand(resolve(Selection(workloads=("matmul",), scope="quick")))}
    assert cpu["cublas"].skip_status == "unsupported" and "CUDA only" in cpu["cublas"].reason
    cuda = expand(resolve(Selection(workloads=("matmul", "softmax"), scope="quick", device="cuda")))
    by_cell = {(p.cell.backend, p.cell.workload): p for p in cuda if p.cell.variant in ("default", "untuned", "onnx")}
    for runs in ("torch-eager", "inductor", "triton", "cublas", "xla"):
        assert by_cell[(runs, "matmul")].skip_status is None or by_cell[(runs, "matmul")].skip_status == "unavailable"
    assert "not a cuBLAS/cuDNN operation" in by_cell[("cublas", "softmax")].reason
    assert "onnxruntime-gpu" in by_cell[("onnxruntime", "matmul")].reason
    assert "no cuda target" in by_cell[("numpy", "matmul")].reason
    xla, softmax = get_backend("xla"), get_workload("softmax")
    case = softmax.case(softmax.tiny_case)
    assert "HIGHEST" in xla.skip(CellRequest(softmax, case, "default", "cuda", "tf32")).reason
    assert xla.skip(CellRequest(softmax, case, "default", "cuda", "bfloat16")) is None


def test_device_environment_of_a_cell() -> None:
    assert cell_environment("xla", 2)["JAX_PLATFORMS"] == "cpu"
    assert cell_environment("xla", 2, "cpu") == cell_environment("xla", 2)
    cuda = cell_environment("xla", 2, "cuda")
    assert cuda["JAX_PLATFORMS"] == "cuda" and cuda["OMP_NUM_THREADS"] == "2" and cuda["XLA_FLAGS"] == ""
    assert cell_environment("torch-eager", 2, "cuda") == cell_environment("torch-eager", 2)


def test_gpu_memory_exhaustion_is_recorded_as_oom() -> None:
    from suites.cell import _status_of

    class OutOfMemoryError(RuntimeError):  # the name torch.cuda.OutOfMemoryError has
        pass

    assert _status_of(OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), "runtime_error") == "oom"
    assert _status_of(RuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating"), "compile_error") == "oom"
    assert _status_of(RuntimeError("illegal memory access"), "runtime_error") == "runtime_error"


def test_cpu_cells_keep_the_cpu_timer() -> None:
    assert timer_for("cpu", "torch") is None and timer_for("cpu", "jax") is None


def test_cuda_loop_uses_the_one_stopping_rule() -> None:
    policy = RepeatPolicy(min_runs=10, min_time_s=1.0, max_time_s=10.0, max_runs=50, floor_runs=3)
    assert not policy.done(9, 5.0) and policy.done(10, 1.0) and not policy.done(10, 0.5)
    assert policy.done(3, 10.0) and not policy.done(2, 20.0) and policy.done(500, 0.0)


def test_timer_without_cuda_falls_back_to_the_host_clock() -> None:
    if CUDA:
        pytest.skip("this machine has a GPU: the fallback is for CUDA cells where torch sees none")
    timer = CudaTimer("torch")
    samples = timer.repeat(lambda: time.sleep(0.001), QUICK)
    assert len(samples) >= 5 and min(samples) >= 0.001
    report = timer.report()
    assert report["device_timing"]["method"] == "host-perf-counter" and report["device_timing"]["note"]


def _load_noxfile(monkeypatch: pytest.MonkeyPatch) -> tuple[types.ModuleType, dict[str, dict[str, Any]]]:
    """noxfile.py imported against a stand-in `nox` (nox is not installed in the test environment)."""
    sessions: dict[str, dict[str, Any]] = {}

    def session(func: Any = None, **kwargs: Any) -> Any:
        def register(f: Any) -> Any:
            sessions[kwargs.get("name", f.__name__)] = {"func": f, **kwargs}
            return f

        return register(func) if callable(func) else register

    fake = types.ModuleType("nox")
    fake.session = session  # type: ignore[attr-defined]
    fake.Session = object  # type: ignore[attr-defined]
    fake.options = types.SimpleNamespace()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nox", fake)
    monkeypatch.syspath_prepend(str(REPO_ROOT))
    monkeypatch.delitem(sys.modules, "noxfile", raising=False)
    return importlib.import_module("noxfile"), sessions


def test_bench_gpu_session_installs_nothing_and_runs_valid_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    _, sessions = _load_noxfile(monkeypatch)
    bench = sessions["bench-gpu"]
    assert bench["venv_backend"] == "none"
    calls: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    fake_session = types.SimpleNamespace(posargs=["--quick"], run=lambda *a, **k: calls.append((a, k)),
                                         install=lambda *a, **k: pytest.fail("bench-gpu must not install anything"))
    monkeypatch.delenv("MLCOMPARE_PYTHON", raising=False)
    bench["func"](fake_session)
    runs = set()
    for args, kwargs in calls:
        assert args[:3] == ("python3", "-m", "suites") and kwargs.get("external") is True
        parsed = build_parser().parse_args(list(args[3:]))
        assert parsed.device == "cuda" and parsed.scope == "quick", shlex.join(args)
        resolve(Selection(parsed.suite, parsed.backends, scope="quick", device="cuda", dtype=parsed.dtype))  # valid
        runs.add((parsed.suite, parsed.dtype))
    assert runs == {("operators", d) for d in ("float32", "tf32", "float16", "bfloat16")} | {("models", "float16")}


def test_nvidia_smi_output_is_parsed() -> None:
    fields = ("name", "driver_version", "clocks.max.sm", "power.limit")
    text = "NVIDIA H100 80GB HBM3, 570.124.06, 1980, 700.00\nNVIDIA H100 80GB HBM3, 570.124.06, 1980, [N/A]\n"
    rows = gpu_info.parse_nvidia_smi(fields, text)
    assert rows[0] == {"name": "NVIDIA H100 80GB HBM3", "driver_version": "570.124.06", "clocks.max.sm": "1980",
                       "power.limit": "700.00"}
    assert rows[1]["power.limit"] is None and len(rows) == 2


def test_gpu_slug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu_info, "nvidia_smi", lambda: [{"name": "NVIDIA H100 80GB HBM3"}])
    assert gpu_info.gpu_slug() == "nvidia-h100-80gb-hbm3"
    monkeypatch.setattr(gpu_info, "nvidia_smi", lambda: "nvidia-smi not found")
    assert gpu_info.gpu_slug() is None


@pytest.mark.skipif(CUDA, reason="checks what a machine without a GPU records")
def test_describe_gpu_without_a_gpu_records_why() -> None:
    section = gpu_info.describe_gpu(calibrate=True, timeout_s=300)
    assert section["error"] == "torch.cuda.is_available() is False"
    assert "nvidia_smi" in section and "cuda_driver_version" in section and "calibration" not in section


def test_datasheet_and_roofline_arithmetic() -> None:
    assert gpu_calibration.datasheet_board("NVIDIA H100 80GB HBM3") == "H100 SXM"
    assert gpu_calibration.datasheet_board("NVIDIA H100 PCIe") == "H100 PCIe"
    assert gpu_calibration.datasheet_board("NVIDIA H200") == "H200 SXM"
    assert gpu_calibration.datasheet_board("NVIDIA H100 NVL") is None
    assert gpu_calibration.datasheet_board("NVIDIA A100-SXM4-80GB") is None
    measured = {"matmul": {p: {"tflops": t} for p, t in
                           (("float32", 50.0), ("tf32", 400.0), ("float16", 700.0), ("bfloat16", 700.0))},
                "copy": {"gbps": 3000.0}}
    calibration = {**measured, **gpu_calibration.compare(measured, "NVIDIA H100 80GB HBM3")}
    fractions = calibration["fraction_of_datasheet"]
    assert fractions["float16"] == pytest.approx(700 / 989.5) and fractions["memory"] == pytest.approx(3000 / 3350)
    # A 4096^3 float16 matmul: 2*4096^3 FLOPs over 3 * 4096^2 * 2 bytes is compute bound.
    flops, nbytes = 2.0 * 4096**3, 3 * 4096**2 * 2.0
    point = gpu_calibration.roofline(flops, nbytes, flops / 350e12, "float16", calibration)
    assert point["bound"] == "compute" and point["fraction_of_attainable"] == pytest.approx(0.5)
    sheet = gpu_calibration.roofline(1e6, 1e6, 1e6 / 1e12, "float16", calibration, source="datasheet")
    assert sheet["bound"] == "memory" and sheet["attainable_tflops"] == pytest.approx(3.35)


def test_process_tree_memory_without_psutil() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; x = b'x' * (64 << 20); time.sleep(30)"])
    try:
        time.sleep(1.0)
        tree = proctree.ProcessTree(sleeper.pid, use_psutil=False).rss()
        assert tree > 64 << 20
        if proctree.psutil is not None:
            assert tree == pytest.approx(proctree.ProcessTree(sleeper.pid).rss(), rel=0.2)
            assert proctree.proc_total_memory_bytes() == pytest.approx(proctree.total_memory_bytes(), rel=0.01)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert proctree.ProcessTree(sleeper.pid, use_psutil=False).rss() == 0


class _FakeTensor:
    def __init__(self, numel: int = 1, itemsize: int = 4) -> None:
        self._numel, self._itemsize = numel, itemsize

    def numel(self) -> int:
        return self._numel

    def element_size(self) -> int:
        return self._itemsize

    def zero_(self) -> _FakeTensor:
        return self

    def copy_(self, other: Any) -> _FakeTensor:
        return self


class _FakeEvent:
    clock = 0.0

    def __init__(self, enable_timing: bool = False) -> None:
        self.at = 0.0

    def record(self) -> None:
        _FakeEvent.clock += 0.5  # every recorded event is 0.5 ms after the previous one
        self.at = _FakeEvent.clock

    def synchronize(self) -> None:
        pass

    def elapsed_time(self, end: _FakeEvent) -> float:
        return end.at - self.at


def _fake_torch() -> Any:
    """Just enough of torch's CUDA API for the timer and the calibration: exercises their logic, not a GPU."""
    allocated = {"peak": 3 * 2**20}
    cuda = types.SimpleNamespace(
        is_available=lambda: True, synchronize=lambda: None, Event=_FakeEvent, empty_cache=lambda: None,
        max_memory_allocated=lambda: allocated["peak"], memory_reserved=lambda: 8 * 2**20,
        reset_peak_memory_stats=lambda: allocated.update(peak=2**20 + 256 * 2**20),
        get_device_name=lambda index=0: "NVIDIA H100 80GB HBM3")
    matmul = types.SimpleNamespace(allow_tf32=False)
    return types.SimpleNamespace(
        cuda=cuda, int32="int32", backends=types.SimpleNamespace(cuda=types.SimpleNamespace(matmul=matmul),
                                                                  cudnn=types.SimpleNamespace(allow_tf32=True)),
        empty=lambda *shape, **k: _FakeTensor(shape[0]), ones=lambda n, **k: _FakeTensor(n),
        empty_like=lambda t: _FakeTensor(),
        randn=lambda *a, **k: _FakeTensor(), mm=lambda a, b, out: out)


def test_cuda_timer_logic_with_a_stand_in_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", _fake_torch())
    timer = CudaTimer("torch")
    calls: list[int] = []
    samples = timer.repeat(lambda: calls.append(1), QUICK)
    assert len(samples) == len(calls) >= 5 and all(s == pytest.approx(0.5e-3) for s in samples)
    report = timer.report()
    assert report["device_timing"] == {"method": "cuda-events", "l2_flush_bytes": 256 * 2**20,
                                       "host_median_s": pytest.approx(report["device_timing"]["host_median_s"])}
    memory = report["gpu_memory"]
    # The flush buffer (256 MiB) is not the cell's: warm runs peak at 1 MiB, compile and first run at 3 MiB.
    assert memory["peak_warm_runs_mb"] == 1.0 and memory["peak_compile_first_run_mb"] == 3.0
    assert memory["peak_mb"] == 3.0 and memory["library"] == "torch"


def test_calibration_logic_with_a_stand_in_torch() -> None:
    result = gpu_calibration.calibrate(_fake_torch())
    # Every event pair is 0.5 ms apart: 2 * 8192^3 / 0.5 ms and 2 * 2 GiB / 0.5 ms.
    assert result["matmul"]["float16"]["tflops"] == pytest.approx(2 * 8192**3 / 0.5e-3 / 1e12)
    assert result["copy"]["gbps"] == pytest.approx(2 * 2 * 2**30 / 0.5e-3 / 1e9)
    assert result["datasheet"]["board"] == "H100 SXM" and set(result["fraction_of_datasheet"]) == {
        "float32", "tf32", "float16", "bfloat16", "memory"}


# --- on a GPU ---------------------------------------------------------------------------------------------------


def _cuda_cell(backend: str, workload: str, dtype: str, variant: str = "default") -> dict[str, Any]:
    w = get_workload(workload)
    options = CellOptions(threads=2, timeout_s=600, device="cuda", dtype=dtype, repeat_policy=QUICK,
                          cache_dir=str(REPO_ROOT / "results" / "cache"))
    return run_cell_isolated(Cell(backend, variant, workload, w.tiny_case), options)


@needs_gpu
@pytest.mark.parametrize("dtype", ["float32", "tf32", "float16", "bfloat16"])
@pytest.mark.parametrize(("backend", "workload"), [("torch-eager", "matmul"), ("triton", "matmul"),
                                                   ("triton", "attention"), ("cublas", "matmul"),
                                                   ("cublas", "attention"), ("inductor", "layernorm"),
                                                   ("xla", "softmax"), ("torch-eager", "mlp"), ("xla", "mlp")])
def test_cuda_cell(backend: str, workload: str, dtype: str) -> None:
    adapter, cases = get_backend(backend), get_workload(workload)
    skip = adapter.skip(CellRequest(cases, cases.case(cases.tiny_case), adapter.variants[0], "cuda", dtype))
    if skip:
        pytest.skip(skip.reason)
    result = _cuda_cell(backend, workload, dtype)
    assert result["status"] == "ok", f"{result['status']}: {result['reason']}\n{result.get('traceback', '')}"
    assert result["device_timing"]["method"] == "cuda-events" and result["timing"]["median_s"] > 0
    assert result["gpu_memory"]["peak_mb"] > 0
    if backend != "xla":
        assert result["details"]["tf32_matmul"] == (dtype == "tf32")


@needs_gpu
def test_calibration_and_gpu_section() -> None:
    section = gpu_info.describe_gpu(calibrate=True)
    assert "error" not in section, section.get("error")
    device = section["devices"][0]
    assert device["multi_processor_count"] > 0 and device["total_memory"] > 0
    calibration = section["calibration"]
    assert calibration["copy"]["gbps"] > 100
    for precision in ("float32", "tf32", "float16", "bfloat16"):
        assert calibration["matmul"][precision]["tflops"] > 1
    assert calibration["matmul"]["float16"]["tflops"] > calibration["matmul"]["float32"]["tflops"]
