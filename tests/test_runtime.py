"""Interpreter construction: backends, fallbacks and clear errors for bad model files."""

import json
import shutil
import sys
import types

import numpy as np
import pytest

from device.errors import ModelError
from device.models.manifest import ModelEntry, sha256_of
from device.pose import edgetpu, loader, runtime

INT8 = "movenet_single_pose_lightning_ptq.tflite"
EDGETPU = "movenet_single_pose_lightning_ptq_edgetpu.tflite"


@pytest.fixture()
def models_dir(tmp_path, shared_data):
    """A models folder holding the official int8 and Edge TPU builds and their manifest."""
    for name in (INT8, EDGETPU):
        shutil.copy(shared_data / "models" / name, tmp_path / name)
    entries = [
        {"name": "lightning", "file": name, "sha256": sha256_of(tmp_path / name),
         "precision": "int8", "input_size": 192, "input_dtype": "uint8", "accelerator": accel,
         "source": "test", "upstream": "", "license": "Apache-2.0"}
        for name, accel in ((INT8, "cpu"), (EDGETPU, "edgetpu"))
    ]  # fmt: skip
    (tmp_path / "manifest.json").write_text(json.dumps({"models": entries}))
    return tmp_path


NO_LIBEDGETPU = "libedgetpu-not-installed.so.1"  # the tests mean the same on a Pi with one


@pytest.fixture()
def no_libedgetpu(monkeypatch):
    """No libedgetpu, and no Coral plugged in."""
    monkeypatch.setattr(runtime, "EDGETPU_LIBRARY", NO_LIBEDGETPU)
    monkeypatch.setattr(edgetpu, "coral_devices", lambda: [])


def test_auto_without_libedgetpu_runs_on_cpu(models_dir, no_libedgetpu):
    model = loader.open_model("lightning", "auto", 2, models_dir, edgetpu_library=NO_LIBEDGETPU)
    assert model.backend.accelerator == "cpu" and model.backend.model.file == INT8
    assert not model.backend.fallback.warn  # nothing says a Coral was meant: no warning
    out = model(np.zeros((192, 192, 3), np.uint8))
    assert out.shape == (17, 3)


def test_edgetpu_without_libedgetpu_is_a_clear_error(models_dir, no_libedgetpu):
    with pytest.raises(ModelError, match=r"Edge TPU cannot be used.*not installed.*accelerator"):
        loader.open_model("lightning", "edgetpu", 2, models_dir, edgetpu_library=NO_LIBEDGETPU)


def test_edgetpu_without_edgetpu_model_is_a_clear_error(models_dir):
    (models_dir / EDGETPU).unlink()
    with pytest.raises(ModelError, match="repcounter models fetch"):
        loader.open_model("lightning", "edgetpu", 2, models_dir)


def cpu_entry(path) -> ModelEntry:
    """A manifest entry that claims `path` is a CPU model (a mislabelled or swapped file)."""
    return ModelEntry(
        name="lightning", file=path.name, precision="int8", accelerator="cpu", input_size=192,
        input_dtype="uint8", sha256=sha256_of(path), source="test", upstream="", license="",
    )  # fmt: skip


def test_edgetpu_model_on_cpu_is_a_clear_error(models_dir):
    with pytest.raises(ModelError, match="Edge TPU build and cannot run on the CPU"):
        runtime.open_entry(cpu_entry(models_dir / EDGETPU), 2, models_dir)


def test_truncated_model_is_refused_by_checksum(models_dir, no_libedgetpu):
    data = (models_dir / INT8).read_bytes()
    (models_dir / INT8).write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        loader.open_model("lightning", "cpu", 2, models_dir)


def test_garbage_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer" * 100)
    with pytest.raises(ModelError, match=r"bad\.tflite is not a valid TFLite model"):
        runtime.open_entry(cpu_entry(bad), 1, tmp_path)


def test_unknown_model_and_accelerator_are_clear_errors(models_dir):
    with pytest.raises(ModelError, match="unknown model 'heavy'"):
        loader.open_model("heavy", "cpu", 1, models_dir)
    with pytest.raises(ModelError, match="accelerator must be one of"):
        loader.open_model("lightning", "gpu", 1, models_dir)


def test_falls_back_to_tflite_runtime(monkeypatch, models_dir, no_libedgetpu):
    """Only tflite_runtime installed: its Interpreter is used (here a shim over LiteRT's)."""
    from ai_edge_litert import interpreter as litert

    shim_interpreter = types.ModuleType("tflite_runtime.interpreter")
    shim_interpreter.Interpreter = litert.Interpreter
    shim_interpreter.load_delegate = litert.load_delegate
    shim = types.ModuleType("tflite_runtime")
    shim.interpreter = shim_interpreter
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # import fails
    monkeypatch.setitem(sys.modules, "tflite_runtime", shim)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", shim_interpreter)
    model = loader.open_model("lightning", "auto", 1, models_dir, edgetpu_library=NO_LIBEDGETPU)
    assert model.backend.runtime == "tflite_runtime"


def test_no_runtime_at_all_is_a_clear_error(monkeypatch, models_dir):
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime", None)
    with pytest.raises(ModelError, match="pip install ai-edge-litert"):
        loader.open_model("lightning", "cpu", 1, models_dir)


def manifest_with_float16(models_dir) -> None:
    """Add the project's converted float16 Lightning to the test models folder."""
    from device.models.manifest import MODELS_DIR, load_manifest

    float16 = next(e for e in load_manifest(MODELS_DIR) if e.precision == "float16")
    shutil.copy(float16.path(MODELS_DIR), models_dir / float16.file)
    data = json.loads((models_dir / "manifest.json").read_text())
    data["models"].insert(0, {**float16.__dict__})
    (models_dir / "manifest.json").write_text(json.dumps(data))


def test_precision_picks_the_cpu_build(models_dir):
    manifest_with_float16(models_dir)
    picked = {
        precision: loader.open_model("lightning", "cpu", 1, models_dir, precision).backend
        for precision in runtime.PRECISIONS
    }
    assert picked["auto"].model.file == INT8  # int8 first although float16 is listed first
    assert picked["int8"].model.file == INT8
    assert picked["float16"].model.precision == "float16"
    assert picked["float16"].model.file != INT8
    (models_dir / INT8).unlink()
    assert loader.open_model("lightning", "cpu", 1, models_dir).backend.model.precision == (
        "float16"
    )
    with pytest.raises(ModelError, match=r"no int8 CPU build.*models fetch"):
        loader.open_model("lightning", "cpu", 1, models_dir, "int8")


def test_float16_never_takes_the_edge_tpu(models_dir):
    manifest_with_float16(models_dir)
    model = loader.open_model("lightning", "auto", 1, models_dir, "float16")
    assert model.backend.accelerator == "cpu" and model.backend.fallback is None
    with pytest.raises(ModelError, match="int8 builds only"):
        loader.open_model("lightning", "edgetpu", 1, models_dir, "float16")
    with pytest.raises(ModelError, match="precision must be one of"):
        loader.open_model("lightning", "cpu", 1, models_dir, "int4")
