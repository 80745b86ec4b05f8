"""Placement advice: tell the person, in one wording at a time, what keeps the camera from counting
them or from judging their form, from the keypoints actually seen.

The conditions, first failing one wins:
- step_into_view: nobody in view;
- whole_body_not_visible: a joint the exercise is counted from is hidden or outside the picture
  (squat: shoulder, hip, knee, ankle; push-up: shoulder, elbow, wrist), or, for squats and before
  the exercise is known, the legs are not seen apart from the torso: MoveNet guesses hidden legs
  and folds them onto the body, so a knee and an ankle above the keypoint threshold are not
  enough (legs_apart);
- turn_sideways: push-ups seen head-on, where depth is hard to see and the body line not at all;
- the view hints (cues.HINTS): form checks the view does not allow (push-ups or squats at three
  quarters).
The first three are problems (ExerciseState.placement, the phone's banner); a hint is
ExerciseState.view_hint. Both come from the one advice held here, so the banner and the hint never
say two things at once. A new advice must last rules.placement_s before it is given, and a given
advice stays at least rules.advice_hold_s (hysteresis: a view near the line between two views
does not make the wording flip). The placement page shows the same checks (checks()).
"""

from __future__ import annotations

from device.exercise.cues import HINTS, cue
from device.exercise.geometry import SIDES, Joints, distance
from device.exercise.rules import ExerciseRules
from device.exercise.types import Cue
from device.exercise.view import FRONT, SIDE
from device.pose.keypoints import KEYPOINT_INDEX

REQUIRED: dict[str | None, tuple[str, ...]] = {
    "squat": ("shoulder", "hip", "knee", "ankle"),
    "pushup": ("shoulder", "elbow", "wrist"),
    None: ("shoulder", "hip", "knee", "ankle"),
}
NEEDS_LEGS = ("squat", None)  # exercises whose advice requires the legs seen apart
PROBLEMS = ("step_into_view", "whole_body_not_visible", "turn_sideways")
# Leg lengths against the torso (shoulder to hip) that mark legs really seen: a hip-to-ankle
# distance of at least half a torso (a squat at depth seen from the front still shows the shin,
# about 0.8 torso lengths) and a knee at least a fifth of a torso from the ankle. Legs folded
# onto the body by the model are shorter.
LEG_FROM_HIP = 0.5
SHIN_MIN = 0.2


def _inside(joints: Joints, name: str) -> bool:
    width, height = joints.pose.image_size
    i = KEYPOINT_INDEX[name]
    x, y = joints.xy[i]
    return bool(joints.ok[i]) and 0 <= x < width and 0 <= y < height


def side_in_view(joints: Joints, names: tuple[str, ...]) -> bool:
    """True when, on one side of the body at least, every named joint is seen inside the image."""
    return any(all(_inside(joints, f"{side}_{name}") for name in names) for side in SIDES)


def legs_apart(joints: Joints) -> bool:
    """On one side at least: shoulder, hip, knee and ankle seen inside the picture, the ankle
    at least LEG_FROM_HIP torso lengths from the hip and the knee SHIN_MIN from the ankle."""
    for side in SIDES:
        names = [f"{side}_{n}" for n in ("shoulder", "hip", "knee", "ankle")]
        if not all(_inside(joints, n) for n in names):
            continue
        shoulder, hip, knee, ankle = (joints.get(n) for n in names)
        torso = distance(shoulder, hip)
        if not torso:
            continue
        leg, shin = distance(hip, ankle) or 0.0, distance(knee, ankle) or 0.0
        if leg >= LEG_FROM_HIP * torso and shin >= SHIN_MIN * torso:
            return True
    return False


HEAD = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")


def head_in_view(joints: Joints) -> bool:
    return any(_inside(joints, n) for n in HEAD)


def whole_body(joints: Joints) -> bool:
    """The head and the legs (apart from the torso) seen: the placement page's "whole body"."""
    return head_in_view(joints) and legs_apart(joints)


def advice_for(joints: Joints | None, exercise: str | None, view: str | None) -> str | None:
    """The first condition that fails this frame (see the module docstring), or None. Before
    the exercise is known the whole body, head to feet, is asked for."""
    if joints is None:
        return "step_into_view"
    if not side_in_view(joints, REQUIRED[exercise]):
        return "whole_body_not_visible"
    if exercise is None and not whole_body(joints):
        return "whole_body_not_visible"
    if exercise in NEEDS_LEGS and not legs_apart(joints):
        return "whole_body_not_visible"
    if exercise == "pushup" and view == FRONT:
        return "turn_sideways"
    if (exercise or "", view) in HINTS:
        return f"hint:{exercise}:{view}"
    return None


class Held:
    """A value that changes only once a new value has lasted `delay` seconds, and not sooner
    than `hold` seconds after its last change."""

    def __init__(self, value: object) -> None:
        self.value = value
        self._pending: object = value
        self._since = 0.0
        self._changed_at = float("-inf")

    def update(self, value: object, t: float, delay: float, hold: float = 0.0) -> bool:
        """Feed this frame's value; True when the held value changed."""
        if value == self.value:
            self._pending = self.value
            return False
        if value != self._pending:
            self._pending, self._since = value, t
        if t - self._since < delay or t - self._changed_at < hold:
            return False
        self.value, self._changed_at = value, t
        return True


class PlacementMonitor:
    def __init__(self, rules: ExerciseRules) -> None:
        self.rules = rules
        self.reset()

    def reset(self) -> None:
        self._advice = Held(None)  # a PROBLEMS code, "hint:exercise:view" or None
        self._body = Held(False)
        self._side = Held(False)
        self.problem: Cue | None = None
        self.hint: str | None = None

    def update(
        self, joints: Joints | None, exercise: str | None, view: str | None, t: float
    ) -> Cue | None:
        """The new problem cue when one is given by this frame, else None."""
        rules = self.rules
        self._body.update(joints is not None and whole_body(joints), t, rules.placement_s)
        self._side.update(joints is not None and view == SIDE, t, rules.placement_s)
        code = advice_for(joints, exercise, view)
        if not self._advice.update(code, t, rules.placement_s, rules.advice_hold_s):
            return None
        self.problem = cue(code, t, exercise) if code in PROBLEMS else None
        self.hint = HINTS[(exercise or "", view)] if self.problem is None and code else None
        return self.problem

    def checks(self) -> dict[str, bool]:
        """The placement page's checks, held like the advice: someone in view, the whole body
        (head, and legs apart from the torso), a side view."""
        person = self._advice.value != "step_into_view"
        return {
            "person": person,
            "body": person and bool(self._body.value),
            "side": person and bool(self._side.value),
        }
