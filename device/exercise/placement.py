"""Placement checks: tell the person when the camera cannot count them reliably.

- step_into_view: nobody in view;
- whole_body_not_visible: a joint the exercise is counted from is hidden or outside the picture
  (squat: shoulder, hip, knee, ankle; push-up: shoulder, elbow, wrist; before the exercise is
  known: the whole body from shoulders to ankles);
- turn_sideways: push-ups seen head-on, where depth is hard to see and the body line not at all.
A problem must last rules.placement_s before its cue is given; the cue is given once, when the
problem starts, and stays in the live state until it is solved.
"""

from __future__ import annotations

from device.exercise.cues import cue
from device.exercise.geometry import SIDES, Joints
from device.exercise.rules import ExerciseRules
from device.exercise.types import Cue
from device.exercise.view import FRONT
from device.pose.keypoints import KEYPOINT_INDEX

REQUIRED: dict[str | None, tuple[str, ...]] = {
    "squat": ("shoulder", "hip", "knee", "ankle"),
    "pushup": ("shoulder", "elbow", "wrist"),
    None: ("shoulder", "hip", "knee", "ankle"),
}


def side_in_view(joints: Joints, names: tuple[str, ...]) -> bool:
    """True when, on one side of the body at least, every named joint is seen inside the image."""
    width, height = joints.pose.image_size
    for side in SIDES:
        ok = True
        for name in names:
            i = KEYPOINT_INDEX[f"{side}_{name}"]
            x, y = joints.xy[i]
            ok = ok and bool(joints.ok[i]) and 0 <= x < width and 0 <= y < height
        if ok:
            return True
    return False


class PlacementMonitor:
    def __init__(self, rules: ExerciseRules) -> None:
        self.rules = rules
        self.reset()

    def reset(self) -> None:
        self.problem: Cue | None = None
        self._pending: str | None = None
        self._since = 0.0

    def update(
        self, joints: Joints | None, exercise: str | None, view: str | None, t: float
    ) -> Cue | None:
        """The new cue when a problem has just lasted long enough, else None."""
        code = self._check(joints, exercise, view)
        if code is None:
            self.problem, self._pending = None, None
            return None
        if self.problem is not None and self.problem.code == code:
            return None
        if code != self._pending:
            self._pending, self._since = code, t
        if t - self._since < self.rules.placement_s:
            return None
        self.problem = cue(code, t, exercise)
        return self.problem

    @staticmethod
    def _check(joints: Joints | None, exercise: str | None, view: str | None) -> str | None:
        if joints is None:
            return "step_into_view"
        if not side_in_view(joints, REQUIRED[exercise]):
            return "whole_body_not_visible"
        if exercise == "pushup" and view == FRONT:
            return "turn_sideways"
        return None
