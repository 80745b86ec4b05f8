"""Which exercise the person is set up for, from body orientation: upright (squat) or lying on
the hands (push-up).

Per frame the body gives evidence:
- upright: the legs are seen well below the hips, the hands above the feet, and the line from
  the feet to the shoulders is within rules.upright_deg of vertical (standing and squatting keep
  the shoulders over the feet, or the person falls over);
- prone: that line is more than rules.prone_deg from vertical (a plank, seen from the side or at
  three quarters), or, with the legs hidden, the torso points at the camera (shoulders wider
  than the torso is long, or hips above the shoulders: a push-up seen head-on) while the hands
  are below the shoulders.
Frames without evidence leave the posture as it was. The first evidence sets the posture (a
video may start mid-set); a different posture must then be seen for rules.posture_s before it
replaces the old one, and the posture is forgotten when the person has
been gone for rules.max_gap_s. Which joints move is checked later, per rep (the feet stay planted
in a squat, the hands in a push-up), so a posture alone never counts anything.
"""

from __future__ import annotations

import math

import numpy as np

from device.exercise.geometry import Joints, distance, from_vertical_deg
from device.exercise.rules import ExerciseRules

UPRIGHT, PRONE = "upright", "prone"
EXERCISE_OF_POSTURE = {UPRIGHT: "squat", PRONE: "pushup"}


def posture_evidence(joints: Joints, rules: ExerciseRules) -> str | None:
    """UPRIGHT, PRONE or None (this frame does not tell)."""
    shoulder = joints.midpoint("shoulder")
    hip = joints.midpoint("hip")
    if shoulder is None:
        return None
    legs = joints.chain(("hip", "knee", "ankle"))
    if legs is not None:
        hip_l, _, ankle = legs
        line = from_vertical_deg(joints.midpoint("ankle"), shoulder)  # type: ignore[arg-type]
        if line >= rules.prone_deg:
            return PRONE
        torso = distance(shoulder, hip_l) or 0.0
        # Legs are about 1.7 torso lengths: even in a deep squat the ankles stay more than half a
        # torso below the hips, the hips below the shoulders, and the hands above the feet.
        # Anything else is MoveNet guessing legs that are hidden behind the body.
        lowest_hand = max(
            (w[1] for w in (joints.get("left_wrist"), joints.get("right_wrist")) if w is not None),
            default=-np.inf,
        )
        if (
            line <= rules.upright_deg
            and ankle[1] - hip_l[1] > 0.5 * torso
            and hip_l[1] > shoulder[1]
            and lowest_hand < ankle[1]
        ):
            return UPRIGHT
    wrist = joints.midpoint("wrist")
    if hip is None or wrist is None or wrist[1] <= shoulder[1]:
        return None
    torso = distance(shoulder, hip) or 0.0
    width = joints.width("shoulder") or 0.0
    inverted = hip[1] < shoulder[1]
    # The torso is 1 / shoulder_torso_ratio shoulder widths long; under cos(45 deg) of that it
    # points at the camera more than it stands across it.
    foreshortened = torso < width / rules.shoulder_torso_ratio * math.cos(math.radians(45.0))
    if inverted or foreshortened or from_vertical_deg(hip, shoulder) >= rules.prone_deg:
        return PRONE
    return None


class PostureClassifier:
    """The current posture with a hold time, so one odd frame never switches the exercise."""

    def __init__(self, rules: ExerciseRules) -> None:
        self.rules = rules
        self.posture: str | None = None
        self._candidate: str | None = None
        self._since = 0.0
        self._last_seen: float | None = None

    def reset(self) -> None:
        self.posture = None
        self._candidate = None
        self._last_seen = None

    def update(self, joints: Joints | None, t: float) -> str | None:
        evidence = posture_evidence(joints, self.rules) if joints is not None else None
        if joints is not None:
            self._last_seen = t
        elif self._last_seen is not None and t - self._last_seen > self.rules.max_gap_s:
            self.reset()
            return None
        if evidence is None:
            return self.posture  # no evidence either way: a pending switch keeps its start time
        if evidence == self.posture:
            self._candidate = None
            return self.posture
        if evidence != self._candidate:
            self._candidate, self._since = evidence, t
        if self.posture is None or t - self._since >= self.rules.posture_s:
            self.posture, self._candidate = evidence, None
        return self.posture
