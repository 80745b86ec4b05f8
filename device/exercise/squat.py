"""Squats: the hips' height above the ankles in leg lengths, and the squat's form cues.

Standing, the hips are about one leg length above the ankles. Depth is measured against hips at
knee height: the knees' own height (also above the ankles, in leg lengths) is measured at the
bottom, so depth 1.0 means exactly "hip joint down to the knee joint" for this person and this
camera. That is deeper than parallel (the hip crease at the top of the knee leaves the hip joint
a little above the knee joint), so 'go deeper' has its own line, rules.squat_depth_cue, read
from acceptable reps (docs/exercise.md).
Heights are vertical image distances, so they read the same from the side, the front or at
three quarters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.exercise.body import BodyScale
from device.exercise.counter import ExerciseCounter, Measure, after_bottom, near_bottom
from device.exercise.cues import cue
from device.exercise.geometry import Joints, angle_deg, from_vertical_deg
from device.exercise.reps import Excursion
from device.exercise.types import Cue
from device.exercise.view import FRONT, SIDE


@dataclass
class SquatMeasure(Measure):
    lean: float | None  # torso angle from vertical, degrees
    knee_angle: float | None
    knee_ratio: float | None  # knee distance / ankle distance (front view)


class SquatCounter(ExerciseCounter):
    name = "squat"
    segments = ("thigh", "shin")

    @property
    def min_rom(self) -> float:
        return self.rules.squat_min_rom

    def measure(self, joints: Joints, scale: BodyScale, view: str | None) -> SquatMeasure | None:
        leg = scale.total("thigh", "shin")
        measured = joints.points("hip", "knee", "ankle")
        if not leg or measured is None:
            return None
        hip, knee, ankle = measured
        shoulder = joints.pick("shoulder")
        chain = joints.chain(("hip", "knee", "ankle"))
        return SquatMeasure(
            h=(ankle[1] - hip[1]) / leg,
            target=(ankle[1] - knee[1]) / leg,
            anchor=joints.pair("ankle"),
            unit=leg,
            view=view,
            lean=None if shoulder is None else from_vertical_deg(hip, shoulder),
            knee_angle=None if chain is None else angle_deg(*chain),
            knee_ratio=knee_ratio(joints, leg),
        )

    def cues(self, excursion: Excursion, depth: float, view: str | None) -> list[Cue]:
        rules, t = self.rules, excursion.bottom.t
        found = []
        if depth < rules.squat_depth_cue:
            # severe: too shallow to count as a rep at all
            found.append(cue("go_deeper", t, self.name, severe=depth < rules.count_depth))
        bottom = [s.data for s in near_bottom(excursion)]
        if view == SIDE:
            leans = [m.lean for m in bottom if m.lean is not None]
            if leans and float(np.median(leans)) > rules.squat_lean_deg:
                found.append(cue("chest_up", t, self.name))
        if view == FRONT:
            ratios = [m.knee_ratio for m in bottom if m.knee_ratio is not None]
            if ratios and float(np.median(ratios)) < rules.squat_knee_ratio:
                found.append(cue("knees_out", t, self.name))
        if view == SIDE:
            knees = [s.data.knee_angle for s in after_bottom(excursion)]
            knees = [k for k in knees if k is not None]
            if knees and max(knees) < rules.squat_lockout_deg:
                found.append(cue("stand_up_fully", excursion.peak.t, self.name))
        return found


MIN_STANCE = 0.1  # leg lengths: feet closer than this give no usable knee/ankle ratio


def knee_ratio(joints: Joints, leg: float) -> float | None:
    """Horizontal knee distance over horizontal ankle distance (front view knee tracking)."""
    knees = joints.get("left_knee"), joints.get("right_knee")
    ankles = joints.get("left_ankle"), joints.get("right_ankle")
    if any(p is None for p in (*knees, *ankles)):
        return None
    stance = abs(ankles[0][0] - ankles[1][0])  # type: ignore[index]
    if stance < MIN_STANCE * leg:
        return None
    return abs(knees[0][0] - knees[1][0]) / stance  # type: ignore[index]
