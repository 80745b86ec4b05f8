"""The real models on real images and a real video, against published ground truth.

- images: TensorFlow's MoveNet test accepts each keypoint within 21 px (max of |dx|, |dy|) after
  warming the crop region up on the image; `repcounter pose` does that warm-up for stills.
- track: the TF.js detector's own output for pose_1.mp4 (crop + smoothing on); its test accepts
  60 px per keypoint.
"""

import csv
import json
import platform

import numpy as np
import pytest

from device.capture.video_file import iter_video
from device.cli import main
from device.pose.keypoints import KEYPOINT_NAMES
from device.pose.pipeline import PosePipeline

IMAGE_TOLERANCE_PX = 21
TRACK_TOLERANCE_PX = 60


def truth_rows(shared_data) -> dict[str, np.ndarray]:
    with open(shared_data / "images" / "pose_landmark_truth.csv") as f:
        rows = list(csv.reader(f))[1:]
    return {name: np.array(row, float).reshape(17, 2) for name, row in
            zip(("image1.png", "image2.jpeg"), rows, strict=True)}  # fmt: skip


# Integer kernels differ between CPUs (and LiteRT versions): measured 22.1 px on x86-64 with
# ai-edge-litert 2.3.0, 19.5 px on aarch64 with 2.1.2 (Debian trixie under qemu, `make
# test-arm64`). Strict on both: a change either way shows.
INT8_IMAGE2 = pytest.mark.xfail(
    platform.machine() == "x86_64",
    strict=True,
    reason="the official int8 Lightning puts image2's right knee 22.1 px off on x86-64 (limit 21; "
    "float16 18.4 px; aarch64 19.5 px): quantisation costs a few pixels on this image",
)


@pytest.mark.parametrize(
    ("model", "precision"),
    [("lightning", "float16"), ("lightning", "int8"), ("thunder", "float16")],
)
@pytest.mark.parametrize("image", ["image1.png", "image2.jpeg"])
def test_pose_command_matches_image_truth(shared_data, capsys, model, precision, image, request):
    if (model, precision, image) == ("lightning", "int8", "image2.jpeg"):
        request.applymarker(INT8_IMAGE2)
    path = str(shared_data / "images" / image)
    assert main(["pose", path, "--json", "--model", model, "--precision", precision]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    points = json.loads(lines[0])["keypoints"]
    found = np.array([points[name][:2] for name in KEYPOINT_NAMES])
    error = np.abs(found - truth_rows(shared_data)[image]).max(axis=1)
    worst = int(error.argmax())
    print(
        f"{model} {precision} {image}: worst {error.max():.1f} px ({KEYPOINT_NAMES[worst]}), "
        f"mean {error.mean():.1f} px"
    )
    assert error.max() <= IMAGE_TOLERANCE_PX, f"{KEYPOINT_NAMES[worst]} off by {error.max():.1f} px"


def test_pipeline_tracks_the_tfjs_reference(shared_data):
    with open(shared_data / "tracks" / "pose_1.json") as f:
        reference = json.load(f)
    pipeline = PosePipeline.create("lightning", "cpu", precision="float16")
    errors = []
    frames = list(iter_video(shared_data / "tracks" / "pose_1.mp4"))
    assert len(frames) == len(reference) == 120
    for frame, expected in zip(frames, reference, strict=True):
        assert frame.t == pytest.approx(frame.index / 30)  # 30 fps timestamps drive the filter
        pose = pipeline.process(frame)
        truth = np.array([[expected[n]["x"], expected[n]["y"]] for n in KEYPOINT_NAMES])
        errors.append(np.abs(pose.keypoints[:, :2] - truth).max(axis=1))
    errors = np.array(errors)
    frame_index, keypoint = np.unravel_index(errors.argmax(), errors.shape)
    print(
        f"pose_1.mp4: mean {errors.mean():.2f} px, worst {errors.max():.1f} px "
        f"(frame {frame_index}, {KEYPOINT_NAMES[keypoint]})"
    )
    assert errors.max() <= TRACK_TOLERANCE_PX
