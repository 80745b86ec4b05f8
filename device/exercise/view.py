"""Where the camera stands relative to the body: side, front or other (three-quarter).

The shoulders are about 0.7 torso lengths apart (rules.shoulder_torso_ratio). Upright, the torso
stays full length in any view and the shoulder width shrinks with the sine of the camera's angle
from the profile. Lying (push-up), the torso points at a camera in front of the head and
shortens instead, so the ratio grows with the tangent of that angle. Inverting either gives the
camera's angle from the profile; its median over a second is the view.

Lying, MoveNet often puts the far shoulder close behind the near one in a three-quarter view, so
the shoulders alone read "side". A second measure does not depend on the far side: the body lies
along the camera's depth axis as the camera turns towards the head, so the shoulder-to-knee
distance shortens with the cosine of the angle, while the arms stand vertical and keep their
length in every view. Shoulder-to-knee over the arm length against its anatomical ratio gives
that angle; a lying body is a side view only when both measures say so.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from device.exercise.body import BodyScale
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


def recede_angle_deg(joints: Joints, arm: float | None, body_arm_ratio: float) -> float | None:
    """Lying: the camera's angle from the profile by how much the body (shoulder to knee, in arm
    lengths) is shorter than its anatomical length (0 profile, 90 head-on)."""
    chain = joints.chain(("shoulder", "knee"))
    if chain is None or not arm:
        return None
    length = distance(*chain) or 0.0
    return math.degrees(math.acos(min(1.0, length / arm / body_arm_ratio)))


class ViewEstimator:
    """The view, from the median profile angle over the last rules.view_window_s seconds."""

    def __init__(self, rules: ExerciseRules) -> None:
        self.rules = rules
        self._angles: deque[tuple[float, float]] = deque()
        self.view: str | None = None

    def reset(self) -> None:
        self._angles.clear()
        self.view = None

    def update(
        self, joints: Joints | None, posture: str | None, t: float, scale: BodyScale | None = None
    ) -> str | None:
        if joints is not None:
            angle = profile_angle_deg(joints, posture, self.rules.shoulder_torso_ratio)
            if angle is not None and posture == "prone" and scale is not None:
                angle = self._lying_angle(angle, joints, scale)
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

    def _lying_angle(self, shoulder_angle: float, joints: Joints, scale: BodyScale) -> float:
        """The shoulders' angle, raised to the body's when the legs recede: a side view needs
        both. The body's angle never makes a front view (the far shoulder decides that, and
        counting averages both sides only then), at most a three-quarter one."""
        rules = self.rules
        recede = recede_angle_deg(joints, scale.total("upper_arm", "forearm"), rules.body_arm_ratio)
        if recede is None or shoulder_angle > rules.side_view_deg:
            return shoulder_angle
        return min(max(shoulder_angle, recede), rules.front_view_deg - 1.0)
