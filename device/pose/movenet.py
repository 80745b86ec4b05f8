"""MoveNet pre- and post-processing and crop tracking, after the TF.js MoveNet detector.

Each frame is cut to a square crop region and resized to the model's input; the keypoints come
back in crop coordinates and are mapped to the image. The next crop is centred on the hips and
sized from the current keypoints (1.9 x the torso extent or 1.2 x the body extent, whichever is
larger), so a person far from the camera still fills the model's input. The crop box is low-pass
filtered (alpha 0.9) and falls back to the whole image, padded to a square, whenever the torso is
not visible or the pose score drops below the minimum (the person is lost).

Unlike the TensorFlow Raspberry Pi sample, the torso and body extents are measured from each
keypoint (that sample measures the last torso joint for every keypoint).

Deviations from TF.js: none in the crop arithmetic. The crop is cut with one affine warp
(bilinear, black outside the image), which samples like TF's crop_and_resize.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from device.pose.keypoints import KEYPOINT_INDEX

MIN_CROP_KEYPOINT_SCORE = 0.2
MIN_POSE_SCORE = 0.25
CROP_FILTER_ALPHA = 0.9  # weight of the new crop box in the low-pass filter
TORSO_EXPANSION = 1.9
BODY_EXPANSION = 1.2
TORSO = [KEYPOINT_INDEX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
HIPS = [KEYPOINT_INDEX["left_hip"], KEYPOINT_INDEX["right_hip"]]
SHOULDERS = [KEYPOINT_INDEX["left_shoulder"], KEYPOINT_INDEX["right_shoulder"]]


@dataclass(frozen=True)
class CropRegion:
    """A box in image coordinates normalised to [0, 1] (it may reach outside the image)."""

    y_min: float
    x_min: float
    y_max: float
    x_max: float

    def as_array(self) -> np.ndarray:
        return np.array([self.y_min, self.x_min, self.y_max, self.x_max])


def full_image_region(width: int, height: int) -> CropRegion:
    """The whole image, padded on its short side to a square."""
    if width > height:
        pad = (width - height) / 2 / height
        return CropRegion(-pad, 0.0, 1.0 + pad, 1.0)
    pad = (height - width) / 2 / width
    return CropRegion(0.0, -pad, 1.0, 1.0 + pad)


def crop_and_resize(image: np.ndarray, region: CropRegion, size: int) -> np.ndarray:
    """The region of image resized to size x size, bilinear, black outside the image."""
    height, width = image.shape[:2]
    scale_x = size / ((region.x_max - region.x_min) * width)
    scale_y = size / ((region.y_max - region.y_min) * height)
    # Pixel centres: output pixel i samples the source at x_min*W + (i + 0.5)/scale - 0.5.
    matrix = np.array(
        [
            [scale_x, 0.0, -region.x_min * width * scale_x + 0.5 * scale_x - 0.5],
            [0.0, scale_y, -region.y_min * height * scale_y + 0.5 * scale_y - 0.5],
        ]
    )
    return cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )


def to_image_coordinates(keypoints: np.ndarray, region: CropRegion) -> np.ndarray:
    """Model output (17, 3: y, x, score in the crop) to the same in image coordinates."""
    out = keypoints.astype(np.float64)
    out[:, 0] = region.y_min + out[:, 0] * (region.y_max - region.y_min)
    out[:, 1] = region.x_min + out[:, 1] * (region.x_max - region.x_min)
    return out


def pose_score(keypoints: np.ndarray) -> float:
    """Mean score of the keypoints above the minimum keypoint score (TF.js's pose score)."""
    scores = keypoints[:, 2]
    valid = scores > MIN_CROP_KEYPOINT_SCORE
    return float(scores[valid].mean()) if valid.any() else 0.0


def next_crop_region(keypoints: np.ndarray, width: int, height: int) -> CropRegion:
    """The crop for the next frame from this frame's keypoints (y, x normalised, score)."""
    scores = keypoints[:, 2]
    torso_visible = (scores[HIPS] > MIN_CROP_KEYPOINT_SCORE).any() and (
        scores[SHOULDERS] > MIN_CROP_KEYPOINT_SCORE
    ).any()
    if not torso_visible:
        return full_image_region(width, height)
    ys = keypoints[:, 0] * height
    xs = keypoints[:, 1] * width
    center_y, center_x = ys[HIPS].mean(), xs[HIPS].mean()
    torso_y = np.abs(ys[TORSO] - center_y).max()
    torso_x = np.abs(xs[TORSO] - center_x).max()
    visible = scores >= MIN_CROP_KEYPOINT_SCORE
    body_y = np.abs(ys[visible] - center_y).max(initial=0.0)
    body_x = np.abs(xs[visible] - center_x).max(initial=0.0)
    half = max(
        torso_x * TORSO_EXPANSION,
        torso_y * TORSO_EXPANSION,
        body_y * BODY_EXPANSION,
        body_x * BODY_EXPANSION,
    )
    half = min(half, max(center_x, width - center_x, center_y, height - center_y))
    if half > max(width, height) / 2:
        return full_image_region(width, height)
    return CropRegion(
        (center_y - half) / height,
        (center_x - half) / width,
        (center_y + half) / height,
        (center_x + half) / width,
    )


class CropTracker:
    """The crop region for the next frame, low-pass filtered, reset when the person is lost."""

    def __init__(self) -> None:
        self._filtered: np.ndarray | None = None
        self._size: tuple[int, int] | None = None

    def region(self, width: int, height: int) -> CropRegion:
        """The crop to use for a frame of this size."""
        if self._filtered is None or self._size != (width, height):
            self.reset()
            return full_image_region(width, height)
        return CropRegion(*self._filtered)

    def update(self, keypoints: np.ndarray, width: int, height: int) -> None:
        """Move the crop towards the one this frame's keypoints (image-normalised) ask for."""
        target = next_crop_region(keypoints, width, height).as_array()
        if self._filtered is None or self._size != (width, height):
            self._filtered = target
        else:
            self._filtered = CROP_FILTER_ALPHA * target + (1 - CROP_FILTER_ALPHA) * self._filtered
        self._size = (width, height)

    def reset(self) -> None:
        self._filtered = None
        self._size = None
