"""The results directory names a CPU generation: two CPUs with one model name land in two directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import suites.benchmark
import suites.cli
from suites import machine
from suites.machine import REPO_ROOT, cpu_generation, machine_slug, slug_from

ZEN4 = {"model name": "AMD EPYC", "cpu family": "25", "model": "17", "flags": "avx2 avx512f"}
ZEN5 = {"model name": "AMD EPYC", "cpu family": "26", "model": "2", "flags": "avx2 avx512f"}
SAPPHIRE_RAPIDS = {"model name": "Intel(R) Xeon(R) Processor", "cpu family": "6", "model": "167"}
NEOVERSE_N1 = {"CPU implementer": "0x41", "CPU architecture": "8", "CPU part": "0xd0c"}


def fake_cpu(monkeypatch: pytest.MonkeyPatch, info: dict[str, str], cores: int = 2) -> None:
    monkeypatch.setattr(machine, "_cpuinfo", lambda: dict(info))
    monkeypatch.setattr(machine, "usable_cores", lambda: cores)


@pytest.mark.parametrize(("info", "slug"), [
    (ZEN4, "amd-epyc-f25m17-2c"),
    (ZEN5, "amd-epyc-f26m2-2c"),
    (SAPPHIRE_RAPIDS, "intel-xeon-f6m167-2c"),
])
def test_slug_names_model_generation_and_cores(monkeypatch: pytest.MonkeyPatch, info: dict[str, str],
                                               slug: str) -> None:
    fake_cpu(monkeypatch, info)
    assert machine_slug() == slug
    assert machine.describe_machine()["slug"] == slug


def test_two_generations_of_one_model_name_get_two_slugs(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_cpu(monkeypatch, ZEN4)
    zen4 = machine_slug()
    fake_cpu(monkeypatch, ZEN5)
    assert machine_slug() != zen4


def test_arm_and_unknown_cpus_fall_back() -> None:
    assert cpu_generation(NEOVERSE_N1) == "i41pd0c"
    assert cpu_generation({}) == ""
    assert cpu_generation({"cpu family": "?", "model": "?"}) == ""
    assert slug_from("aarch64", cpu_generation(NEOVERSE_N1), 4) == "aarch64-i41pd0c-4c"
    assert slug_from("arm", "", 8) == "arm-8c"


def test_committed_machine_directories_match_their_manifests() -> None:
    """Every committed run sits in the directory its CPU's model name, family/model and cores give."""
    manifests = sorted((REPO_ROOT / "results").glob("*/*.manifest.json"))
    assert manifests
    for path in manifests:
        described = json.loads(path.read_text())["machine"]
        family, _, model = described["cpu_family_model"].partition("/")
        info = {"cpu family": family, "model": model}
        expected = slug_from(described["cpu_model"], cpu_generation(info), described["usable_cores"])
        assert path.parent.name == expected, path


def test_runs_on_two_generations_land_in_two_directories(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(suites.benchmark, "_calibration", lambda options: {"error": "skipped by the test"})
    directories = []
    for info in (ZEN4, ZEN5):
        fake_cpu(monkeypatch, info)
        args = ["run", "--backends", "numpy", "--workloads", "matmul", "--quick", "--threads", "1",
                "--repeats", "1", "--results-dir", str(tmp_path)]
        assert suites.cli.main(args) == 0
        (manifest,) = [p for p in tmp_path.glob("*/*.manifest.json") if p.parent.name not in directories]
        assert json.loads(manifest.read_text())["machine"]["slug"] == manifest.parent.name
        directories.append(manifest.parent.name)
    assert directories == ["amd-epyc-f25m17-2c", "amd-epyc-f26m2-2c"]
