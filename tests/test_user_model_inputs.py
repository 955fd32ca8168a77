"""Bring your own model that takes real files: dynamic shapes fixed by --input-shape, int64 token ids, several inputs
and outputs (every output verified), real inputs from --inputs FILE.npz, the reference named in the record, and
bad flags refused in one line before anything is written."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from backends.onnx_runtime import OnnxRuntimeBackend
from backends.torch_eager import TorchEagerBackend
from models.user_inputs import InputOptions
from models.user_model import USER_INPUTS_ENV, USER_MODEL_ENV, UserModel, activate_user_model
from suites import cli
from suites.cell import run_cell
from suites.stats import QUICK_POLICY
from tests.test_user_model import mlcompare, records

TWO_HEADS = "tests.user_model_example:two_heads"
SHAPES = "image=3x3x4x4,ids=3x5"


@pytest.fixture(scope="module")
def two_input_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real-looking exported file: a dynamic batch, a float image and int64 ids in, two outputs out."""
    import torch

    from tests.user_model_example import two_heads

    module, inputs = two_heads()
    path = tmp_path_factory.mktemp("onnx") / "two_heads.onnx"
    batch = {0: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(module, inputs, str(path), dynamo=False, opset_version=18, input_names=["image", "ids"],
                          output_names=["logits", "pooled"],
                          dynamic_axes={"image": batch, "ids": batch, "logits": batch, "pooled": batch})
    return path


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Whatever activate_user_model sets in os.environ is undone after the test."""
    for name in (USER_MODEL_ENV, USER_INPUTS_ENV, "PYTHONPATH"):
        monkeypatch.setenv(name, "")
    return monkeypatch


def test_dynamic_onnx_file_with_two_inputs_and_outputs_runs_every_output_verified(two_input_onnx: Path,
                                                                                 tmp_path: Path) -> None:
    # Every backend that takes an ONNX file (one variant each: the static copy is what they share).
    done = mlcompare("--model-onnx", str(two_input_onnx), "--input-shape", SHAPES, "--input-range", "ids=0:50",
                     "--backends", "onnxruntime,iree,tvm", "--variants", "iree/onnx,tvm/onnx-untuned", results=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    cells = records(tmp_path)
    for key in ("onnxruntime/default", "iree/onnx", "tvm/onnx-untuned"):
        ran = cells[f"{key}/user_model/given"]
        assert ran["status"] == "ok", (key, ran["reason"])
        outputs = ran["verification"]["outputs"]
        assert len(outputs) == 2 and all(o["passed"] for o in outputs), key
    cell = cells["onnxruntime/default/user_model/given"]
    details = cell["details"]
    assert details["reference"].startswith("onnxruntime float32")
    assert details["user_model_inputs"]["ids"] == {"shape": [3, 5], "dtype": "int64", "range": [0, 50]}
    static = Path(details["user_model_onnx"])  # the static copy, in the run's cache, named by its hash
    assert static.parent == tmp_path / "cache" / "user_model" and details["user_model_sha256"].startswith(static.stem)
    import onnx

    dims = [d.dim_value for d in onnx.load(str(static)).graph.input[0].type.tensor_type.shape.dim]
    assert dims == [3, 3, 4, 4]


def test_torch_factory_with_two_outputs_verifies_both(tmp_path: Path) -> None:
    done = mlcompare("--model-torch", TWO_HEADS, "--input-shape", SHAPES, "--input-range", "ids=0:50",
                     "--backends", "torch-eager", results=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    cell = records(tmp_path)["torch-eager/default/user_model/given"]
    assert cell["status"] == "ok", cell["reason"]
    assert len(cell["verification"]["outputs"]) == 2 and cell["verification"]["passed"] is True
    assert cell["details"]["reference"] == "torch float64"
    # Both reshaped from the factory's batch of 2 (then seeded: ids in the given range).
    assert cell["details"]["user_model_inputs"]["ids"] == {"shape": [3, 5], "dtype": "int64", "range": [0, 50]}


def _cell_spec(backend: str, tmp_path: Path) -> dict[str, Any]:
    return {"backend": backend, "workload": "user_model", "case": "given", "variant": "default", "device": "cpu",
            "dtype": "float32", "seed": 0, "threads": 1, "workdir": str(tmp_path / "work"),
            "cache_dir": str(tmp_path / "cache"), "repeat_policy": vars(QUICK_POLICY)}


class SecondOutputOff(OnnxRuntimeBackend):
    """ONNX Runtime with its second output nudged: a backend right on the first output only."""

    def prepare(self, task: Any) -> Any:
        prepared = super().prepare(task)
        fetch = prepared.fetch
        prepared.fetch = lambda out: (lambda got: (got[0], got[1] * 1.01))(fetch(out))
        return prepared


def test_a_wrong_second_output_is_caught(two_input_onnx: Path, tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    activate_user_model(f"onnx:{two_input_onnx}", InputOptions(SHAPES, "ids=0:50"), tmp_path / "cache")
    clean_env.setattr("suites.cell.get_backend", lambda name: SecondOutputOff())
    result = run_cell(_cell_spec("onnxruntime", tmp_path), tmp_path / "phase")
    assert result["status"] == "wrong_result" and result["reason"].startswith("output 1:")
    first, second = result["verification"]["outputs"]
    assert first["passed"] and not second["passed"]


def test_a_module_without_float64_is_self_referenced_not_passed(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    activate_user_model("torch:tests.user_model_example:float32_only")
    clean_env.setattr("suites.cell.get_backend", lambda name: TorchEagerBackend())
    result = run_cell(_cell_spec("torch-eager", tmp_path), tmp_path / "phase")
    assert result["status"] == "ok"
    assert result["details"]["reference"].startswith("torch eager float32 (the module does not run in float64")
    assert result["verification"]["passed"] is None and result["verification"]["self_referenced"] is True


def test_inputs_from_npz_are_used_verbatim(two_input_onnx: Path, tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    given = {"image": rng.standard_normal((2, 3, 4, 4), dtype=np.float32),
             "ids": rng.integers(0, 50, (2, 5), dtype=np.int64)}
    np.savez(tmp_path / "inputs.npz", **given)
    activate_user_model(f"onnx:{two_input_onnx}", InputOptions(npz=str(tmp_path / "inputs.npz")), tmp_path / "c")
    workload = UserModel()
    case = workload.case("given")
    assert workload.input_shapes(case) == ((2, 3, 4, 4), (2, 5))  # the file set the dynamic batch
    for seed in (0, 5):
        image, ids = workload.make_inputs(case, seed)
        assert np.array_equal(image, given["image"]) and np.array_equal(ids, given["ids"]) and ids.dtype == np.int64
    assert len(workload.reference(case, (image, ids))) == 2


def _npz(tmp_path: Path, **arrays: np.ndarray) -> str:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return str(path)


IMAGE = np.zeros((2, 3, 4, 4), np.float32)
IDS = np.zeros((2, 5), np.int64)
BAD_FLAGS: list[tuple[list[str], dict[str, np.ndarray] | None, str]] = [
    ([], None, "has a dynamic shape"),
    (["--input-shape", "nope=1x2"], None, "the model has no input 'nope'"),
    (["--input-shape", "image=1x3x4"], None, "has rank 4"),
    (["--input-shape", "image=1x3xfourx4,ids=1x5"], None, "not a positive integer"),
    (["--input-shape", "image=2x5x4x4,ids=2x5"], None, "static dimension 1 = 3"),
    (["--input-shape", SHAPES, "--input-range", "image=0:5"], None, "applies to integer"),
    (["--input-shape", SHAPES, "--input-range", "ids=5:3"], None, "expected LOW:HIGH"),
    (["--input-shape", SHAPES, "--input-range", "ids=0-9"], None, "expected LOW:HIGH"),
    (["--input-shape", SHAPES], None, "onnxruntime failed on the inputs"),  # ids in [0, 100), 50 embeddings
    ([], {"image": IMAGE}, "no array for input 'ids'"),
    ([], {"image": IMAGE, "ids": IDS.astype(np.int32)}, "is int32, the model takes int64"),
    ([], {"image": IMAGE[0], "ids": IDS}, "has rank 4"),
    (["--input-shape", "image=3x3x4x4"], {"image": IMAGE, "ids": IDS}, "--input-shape says 3x3x4x4"),
]


@pytest.mark.parametrize(("flags", "npz", "message"), BAD_FLAGS, ids=[m for _, _, m in BAD_FLAGS])
def test_bad_input_flags_get_one_line_exit_2_and_nothing_written(
        flags: list[str], npz: dict[str, np.ndarray] | None, message: str, two_input_onnx: Path, tmp_path: Path,
        clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = [*flags, *(["--inputs", _npz(tmp_path, **npz)] if npz else [])]
    results = tmp_path / "results"
    code = cli.main(["run", "--quick", "--results-dir", str(results), "--machine", "m", "--backends", "onnxruntime",
                     "--model-onnx", str(two_input_onnx), *arguments])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], lines
    assert not results.exists()


def test_input_flags_without_a_model_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", "--results-dir", str(tmp_path / "r"), "--input-shape", "x=1x2"])
    assert code == 2 and "give --model-onnx or --model-torch" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_selection_keeps_the_input_flags_for_resume() -> None:
    from suites.matrix import Selection

    options = InputOptions(shapes=SHAPES, ranges="ids=0:50")
    selection = Selection("models", user_model="onnx:/m.onnx", user_inputs=options.to_json())
    again = Selection.from_json(json.loads(json.dumps(selection.to_json())))
    assert InputOptions.from_json(again.user_inputs) == options
