"""The 17 COCO keypoints and the Pose value every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KEYPOINT_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
KEYPOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(KEYPOINT_NAMES)}

# Bones drawn by the web page's skeleton overlay (pairs of keypoint indices).
SKELETON_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
    (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
)  # fmt: skip


@dataclass(frozen=True)
class Pose:
    """One person's pose in one frame.

    keypoints: float array (17, 3) of x and y in image pixels and a score in [0, 1], COCO order.
    score: the pose score (mean of the keypoint scores above the keypoint threshold).
    t: the frame's capture time in seconds (monotonic clock, or the video timestamp).
    image_size: (width, height) of the frame the pixels refer to.
    """

    keypoints: np.ndarray
    score: float
    t: float
    image_size: tuple[int, int]

    def point(self, name: str) -> tuple[float, float, float]:
        """(x, y, score) of the named keypoint."""
        x, y, s = self.keypoints[KEYPOINT_INDEX[name]]
        return float(x), float(y), float(s)

    def to_json(self) -> dict:
        """Compact JSON form: rounded pixel coordinates, for events and `repcounter pose`."""
        return {
            "t": round(self.t, 4),
            "score": round(self.score, 3),
            "width": self.image_size[0],
            "height": self.image_size[1],
            "keypoints": {
                name: [round(float(x), 1), round(float(y), 1), round(float(s), 3)]
                for name, (x, y, s) in zip(KEYPOINT_NAMES, self.keypoints, strict=True)
            },
        }
