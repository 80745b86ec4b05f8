"""Where the camera stands relative to the body: side, front or other (three-quarter).

The shoulders are about 0.7 torso lengths apart (rules.shoulder_torso_ratio). Upright, the torso
stays full length in any view and the shoulder width shrinks with the sine of the camera's angle
from the profile. Lying (push-up), the torso points at a camera in front of the head and
shortens instead, so the ratio grows with the tangent of that angle. Inverting either gives the
camera's angle from the profile; its median over a second is the view.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from device.exercise.geometry import Joints, distance
from device.exercise.rules import ExerciseRules

SIDE, FRONT, OTHER = "side", "front", "other"


def profile_angle_deg(joints: Joints, posture: str | None, ratio_face_on: float) -> float | None:
    """The camera's angle from the person's profile (0 profile, 90 face-on or head-on)."""
    shoulders = [joints.get("left_shoulder"), joints.get("right_shoulder")]
    hip = joints.midpoint("hip")
    visible = [s for s in shoulders if s is not None]
    if not visible or hip is None:
        return None
    if len(visible) == 1:
        return 0.0  # the far shoulder is hidden behind the body: a profile
    torso = distance((visible[0] + visible[1]) / 2, hip)
    width = distance(visible[0], visible[1])
    if not torso or width is None:
        return 90.0 if width else None
    ratio = width / torso / ratio_face_on
    if posture == "prone":
        return math.degrees(math.atan(ratio))
    return math.degrees(math.asin(min(1.0, ratio)))


class ViewEstimator:
    """The view, from the median profile angle over the last rules.view_window_s seconds."""

    def __init__(self, rules: ExerciseRules) -> None:
        self.rules = rules
        self._angles: deque[tuple[float, float]] = deque()
        self.view: str | None = None

    def reset(self) -> None:
        self._angles.clear()
        self.view = None

    def update(self, joints: Joints | None, posture: str | None, t: float) -> str | None:
        if joints is not None:
            angle = profile_angle_deg(joints, posture, self.rules.shoulder_torso_ratio)
            if angle is not None:
                self._angles.append((t, angle))
        while self._angles and self._angles[0][0] < t - self.rules.view_window_s:
            self._angles.popleft()
        if not self._angles:
            self.view = None
            return None
        median = float(np.median([a for _, a in self._angles]))
        if median <= self.rules.side_view_deg:
            self.view = SIDE
        elif median >= self.rules.front_view_deg:
            self.view = FRONT
        else:
            self.view = OTHER
        return self.view
