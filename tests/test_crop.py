import numpy as np
import pytest

from device.capture.frame import Frame
from device.pose.keypoints import KEYPOINT_INDEX
from device.pose.movenet import (
    CropRegion,
    CropTracker,
    crop_and_resize,
    full_image_region,
    next_crop_region,
)
from device.pose.pipeline import PosePipeline

W, H = 1280, 720


def keypoints_px(points: dict[str, tuple[float, float]], score: float = 0.9) -> np.ndarray:
    """(17, 3) y, x normalised, score; unnamed keypoints sit on the left hip with score 0."""
    out = np.zeros((17, 3))
    hip = points["left_hip"]
    for i in range(17):
        out[i] = [hip[1] / H, hip[0] / W, 0.0]
    for name, (x, y) in points.items():
        out[KEYPOINT_INDEX[name]] = [y / H, x / W, score]
    return out


STANDING = {
    "left_shoulder": (660, 200), "right_shoulder": (620, 200),
    "left_hip": (655, 360), "right_hip": (625, 360),
    "left_ankle": (655, 600), "right_ankle": (625, 600),
}  # fmt: skip


def test_full_image_region_is_a_square_covering_the_image():
    r = full_image_region(W, H)
    assert (r.x_max - r.x_min) * W == pytest.approx((r.y_max - r.y_min) * H)
    assert r.x_min <= 0 and r.y_min <= 0 and r.x_max >= 1 and r.y_max >= 1
    r = full_image_region(H, W)  # portrait
    assert (r.x_max - r.x_min) * H == pytest.approx((r.y_max - r.y_min) * W)


def test_crop_centred_on_hips_and_sized_by_body_extent():
    r = next_crop_region(keypoints_px(STANDING), W, H)
    center_x, center_y = 640, 360
    body_half = 1.2 * 240  # ankles 240 px below the hip centre
    torso_half = 1.9 * 160  # shoulders 160 px above it
    half = max(body_half, torso_half)
    assert (r.x_min + r.x_max) / 2 * W == pytest.approx(center_x)
    assert (r.y_min + r.y_max) / 2 * H == pytest.approx(center_y)
    assert (r.x_max - r.x_min) * W == pytest.approx(2 * half)
    assert (r.y_max - r.y_min) * H == pytest.approx(2 * half)


def test_every_visible_keypoint_counts_for_the_body_extent():
    # A raised wrist far from the hips must widen the crop (the TF Raspberry Pi sample measured
    # the last torso joint instead and would miss it).
    points = {**STANDING, "left_wrist": (640, 20)}
    r = next_crop_region(keypoints_px(points), W, H)
    assert (r.y_max - r.y_min) * H / 2 == pytest.approx(min(1.2 * 340, 640))


def test_low_score_keypoints_do_not_count():
    points = keypoints_px({**STANDING, "left_wrist": (640, 20)})
    points[KEYPOINT_INDEX["left_wrist"], 2] = 0.1
    assert next_crop_region(points, W, H) == next_crop_region(keypoints_px(STANDING), W, H)


def test_no_torso_falls_back_to_full_image():
    points = keypoints_px(STANDING)
    points[[KEYPOINT_INDEX["left_hip"], KEYPOINT_INDEX["right_hip"]], 2] = 0.05
    assert next_crop_region(points, W, H) == full_image_region(W, H)


def test_crop_region_is_low_pass_filtered():
    tracker = CropTracker()
    assert tracker.region(W, H) == full_image_region(W, H)
    first = keypoints_px(STANDING)
    tracker.update(first, W, H)
    a = tracker.region(W, H).as_array()
    moved = {name: (x + 100, y) for name, (x, y) in STANDING.items()}
    tracker.update(keypoints_px(moved), W, H)
    b = tracker.region(W, H).as_array()
    target = next_crop_region(keypoints_px(moved), W, H).as_array()
    assert np.allclose(b, 0.9 * target + 0.1 * a)


def test_crop_and_resize_samples_the_region():
    image = np.zeros((H, W, 3), np.uint8)
    image[:, W // 2 :] = 200  # right half bright
    out = crop_and_resize(image, CropRegion(0.0, 0.5, 1.0, 1.0), 64)
    assert out.shape == (64, 64, 3) and out.mean() > 190
    outside = crop_and_resize(image, CropRegion(-1.0, -1.0, -0.5, -0.5), 64)
    assert outside.max() == 0  # black outside the image


class ScriptedModel:
    """Stands in for the interpreter: returns the keypoints it is given, in crop coordinates."""

    input_size = 192

    def __init__(self) -> None:
        self.output = np.zeros((17, 3))
        self.seen_inputs: list[np.ndarray] = []

    def __call__(self, image: np.ndarray) -> np.ndarray:
        self.seen_inputs.append(image)
        return self.output


def test_lost_person_resets_crop_and_smoothing():
    model = ScriptedModel()
    pipeline = PosePipeline(model)  # type: ignore[arg-type]
    frame = Frame(np.full((H, W, 3), 80, np.uint8), 0.0, 0)
    full = full_image_region(W, H)
    # A confident person in the middle of the (full-image) crop.
    model.output = np.tile([0.5, 0.5, 0.9], (17, 1))
    model.output[KEYPOINT_INDEX["left_shoulder"]] = [0.3, 0.52, 0.9]
    model.output[KEYPOINT_INDEX["left_ankle"]] = [0.8, 0.5, 0.9]
    pipeline.process(frame)
    assert pipeline._crop.region(W, H) != full
    # The person is lost: every score 0.1, pose score below 0.25.
    model.output = np.tile([0.5, 0.5, 0.1], (17, 1))
    lost = pipeline.process(Frame(frame.image, 1 / 30, 1))
    assert lost.score < 0.25
    assert pipeline._crop.region(W, H) == full
    # Found again far away: no smoothing drag from the old position.
    model.output = np.tile([0.2, 0.2, 0.9], (17, 1))
    found = pipeline.process(Frame(frame.image, 2 / 30, 2))
    expected_x = (full.x_min + 0.2 * (full.x_max - full.x_min)) * W
    assert found.keypoints[:, 0] == pytest.approx(expected_x)
