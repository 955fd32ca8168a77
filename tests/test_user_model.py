"""Bring your own model: a torch factory or an ONNX file runs through every backend that can import it,
with the same verification and records; bad models are refused in one line before any work starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from suites.machine import REPO_ROOT

FACTORY = "tests.user_model_example:small_convnet"


def mlcompare(*args: str, results: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MLCOMPARE_USER_MODEL"}
    command = [sys.executable, "-m", "suites", "run", "--quick", "--results-dir", str(results), "--machine", "m",
               "--repeats", "1", *args]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)


def records(results: Path) -> dict[str, dict]:
    (path,) = (results / "m").glob("*.jsonl")
    return {r["cell"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_torch_factory_runs_through_torch_onnx_and_bridged_jax_paths(tmp_path: Path) -> None:
    done = mlcompare("--model-torch", FACTORY, "--backends", "torch-eager,onnxruntime,xla", results=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    got = records(tmp_path)
    assert got["torch-eager/default/user_model/given"]["status"] == "ok"
    assert got["onnxruntime/default/user_model/given"]["status"] == "ok"
    xla = got["xla/default/user_model/given"]  # no JAX definition: its torch one through the torch.export bridge
    assert xla["status"] == "ok" and xla["details"]["jax_definition"] == "torch.export bridge"
    manifest = json.loads(next((tmp_path / "m").glob("*.manifest.json")).read_text())
    assert manifest["selection"]["user_model"] == f"torch:{FACTORY}"


def test_onnx_file_runs_through_onnx_paths_only(tmp_path: Path) -> None:
    import torch

    from tests.user_model_example import small_convnet

    module, inputs = small_convnet()
    path = tmp_path / "convnet.onnx"
    torch.onnx.export(module.eval(), inputs, str(path), dynamo=True, opset_version=18, external_data=False)
    before = sorted(p.name for p in tmp_path.iterdir())
    results = tmp_path / "results"
    done = mlcompare("--model-onnx", str(path), "--backends", "onnxruntime,iree,torch-eager", results=results)
    assert done.returncode == 0, done.stderr[-2000:]
    got = records(results)
    assert got["onnxruntime/default/user_model/given"]["status"] == "ok"
    assert got["iree/onnx/user_model/given"]["status"] == "ok"
    assert got["iree/stablehlo/user_model/given"]["status"] == "unsupported"
    assert got["torch-eager/default/user_model/given"]["status"] == "unsupported"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "results"])  # nothing written beside it


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--model-onnx", "/no/such/model.onnx", "no such file"),
    ("--model-onnx", "README.md", "not a valid ONNX model"),
    ("--model-torch", "tests.no_such_module:f", "cannot import it"),
    ("--model-torch", "tests.user_model_example", "expected package.module:function"),
    ("--model-torch", "tests.user_model_example:not_a_model", "must return (nn.Module, example_inputs)"),
    ("--model-torch", "tests.user_model_example:wrong_shapes", "forward on its example inputs failed"),
])
def test_bad_models_get_one_line_and_nothing_is_written(flag: str, value: str, message: str, tmp_path: Path) -> None:
    done = mlcompare(flag, value, results=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not any(tmp_path.iterdir())
