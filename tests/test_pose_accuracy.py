"""The real models on real images and a real video, against published ground truth.

- images: TensorFlow's MoveNet test accepts each keypoint within 21 px (max of |dx|, |dy|) after
  warming the crop region up on the image; `repcounter pose` does that warm-up for stills.
- track: the TF.js detector's own output for pose_1.mp4 (crop + smoothing on); its test accepts
  60 px per keypoint.
"""

import csv
import json

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


# The official int8 build's keypoints depend on the CPU's integer kernels (XNNPACK picks them by
# the CPU's features): image2's worst keypoint was measured at 16.2 px (x86-64 with AVX2 or AVX-512
# VNNI), 21.4 px (x86-64 with SSE4 only, under qemu), 22.1 px (an AMD x86-64 with AVX2, and a Pi 4
# and a Pi 5 under qemu with their cpuinfo). TensorFlow's 21 px is for its float models; int8 gets
# that plus the spread measured across those arithmetics (5.9 px, rounded up), so no CPU's
# arithmetic decides the test, while a real fault (a wrong crop, swapped axes) is 50 px or more.
INT8_EXTRA_PX = 6


@pytest.mark.parametrize(
    ("model", "precision"),
    [("lightning", "float16"), ("lightning", "int8"), ("thunder", "float16")],
)
@pytest.mark.parametrize("image", ["image1.png", "image2.jpeg"])
def test_pose_command_matches_image_truth(shared_data, capsys, model, precision, image):
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
    limit = IMAGE_TOLERANCE_PX + (INT8_EXTRA_PX if precision == "int8" else 0)
    assert error.max() <= limit, f"{KEYPOINT_NAMES[worst]} off by {error.max():.1f} px"


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
