"""The converted MoveNet models in models/: checksums, keypoints against the official builds, and
the graph surgery of device/models/convert.py (none of it needs TensorFlow)."""

from __future__ import annotations

import base64
import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from device.errors import ModelError
from device.models.convert import SOURCES, dequantize, unfuse
from device.models.manifest import MODELS_DIR, load_manifest, sha256_of

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(),
    reason=f"{SHARED_DATA} is absent (it holds the official MoveNet builds and test images)",
)

# Mean keypoint distance (normalised image coordinates) to the official int8 builds. They differ
# from the float model by int8 quantization: the official int8 Lightning itself lands 0.014 from
# Coral's reference CSV on the same image. The worst-keypoint bound catches one stray keypoint.
MEAN_BOUND = 0.02
WORST_BOUND = 0.05


def converted(name: str) -> Path:
    (source,) = (s for s in SOURCES if s.name == name)
    return MODELS_DIR / source.file


def squat_keypoints(model: Path, dtype: type) -> np.ndarray:
    """(y, x) of the 17 keypoints that model finds in squat.bmp resized whole to its input size."""
    interpreter = Interpreter(model_path=str(model), num_threads=2)
    interpreter.allocate_tensors()
    (tensor,) = interpreter.get_input_details()
    size = int(tensor["shape"][1])
    image = cv2.cvtColor(cv2.imread(str(SHARED_DATA / "images" / "squat.bmp")), cv2.COLOR_BGR2RGB)
    resized = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    interpreter.set_tensor(tensor["index"], resized.astype(dtype)[np.newaxis])
    interpreter.invoke()
    output = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    assert output.shape == (1, 1, 17, 3)
    return output[0, 0, :, :2]


def coral_reference(csv_name: str) -> np.ndarray:
    """(y, x) of Coral's expected keypoints (the CSV holds x, y)."""
    with (SHARED_DATA / "models" / csv_name).open() as f:
        rows = list(csv.DictReader(f))
    return np.array([[float(r["keypoint_y"]), float(r["keypoint_x"])] for r in rows])


def assert_close(ours: np.ndarray, reference: np.ndarray) -> None:
    distances = np.linalg.norm(ours - reference, axis=1)
    figures = f"mean {distances.mean():.4f}, worst {distances.max():.4f}"
    assert distances.mean() <= MEAN_BOUND, figures
    assert distances.max() <= WORST_BOUND, figures


def test_manifest_checksums_match_the_converted_files() -> None:
    entries = {entry.file: entry for entry in load_manifest()}
    for source in SOURCES:
        entry = entries[source.file]
        assert (entry.name, entry.input_size, entry.input_dtype) == (
            source.name,
            source.input_size,
            "int32",
        )
        assert sha256_of(entry.path()) == entry.sha256, f"{source.file}: rerun `make models`"


@needs_shared_data
def test_converted_lightning_agrees_with_official_int8_lightning() -> None:
    official = squat_keypoints(
        SHARED_DATA / "models" / "movenet_single_pose_lightning_ptq.tflite", np.uint8
    )
    assert_close(squat_keypoints(converted("lightning"), np.int32), official)


@needs_shared_data
def test_converted_thunder_agrees_with_coral_thunder_reference() -> None:
    reference = coral_reference("movenet_single_pose_thunder_ptq_reference.csv")
    assert_close(squat_keypoints(converted("thunder"), np.int32), reference)


def fused_conv(fused_ops: list[str], extra_inputs: list[str]) -> dict:
    encoded = [base64.b64encode(op.encode()).decode() for op in fused_ops]
    return {
        "name": "block/Relu6",
        "op": "_FusedConv2D",
        "input": ["x", "w", *extra_inputs],
        "attr": {
            "T": {"type": "DT_FLOAT"},
            "strides": {"list": {"i": ["1", "2", "2", "1"]}},
            "data_format": {"s": "TkhXQw=="},
            "fused_ops": {"list": {"s": encoded}},
            "num_args": {"i": "1"},
            "epsilon": {"f": 0},
        },
    }


def test_unfuse_splits_a_fused_conv_into_conv_biasadd_activation() -> None:
    const = {"name": "w", "op": "Const", "input": [], "attr": {}}
    nodes = unfuse([const, fused_conv(["BiasAdd", "Relu6"], ["b"])])
    assert [(n["name"], n["op"], n["input"]) for n in nodes] == [
        ("w", "Const", []),
        ("block/Relu6/Conv2D", "Conv2D", ["x", "w"]),
        ("block/Relu6/BiasAdd", "BiasAdd", ["block/Relu6/Conv2D", "b"]),
        ("block/Relu6", "Relu6", ["block/Relu6/BiasAdd"]),
    ]
    assert set(nodes[1]["attr"]) == {"T", "strides", "data_format"}
    assert set(nodes[2]["attr"]) == {"T", "data_format"}


def test_unfuse_refuses_fusions_it_cannot_split() -> None:
    with pytest.raises(ModelError, match="unsupported fusion"):
        unfuse([fused_conv(["BiasAdd", "Prelu"], ["b", "alpha"])])


def test_dequantize_widens_float16_weights() -> None:
    values = np.array([[0.5, -1.25], [3.0, 65504.0]], dtype="<f2")
    spec = {"name": "k", "shape": [2, 2], "dtype": "float32", "quantization": {"dtype": "float16"}}
    weight = dequantize(spec, values.tobytes())
    assert weight.dtype == np.float32
    np.testing.assert_array_equal(weight, values.astype(np.float32))
