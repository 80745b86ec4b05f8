"""Cue codes, the short messages the phone shows for them, and the views each form cue needs.

A 2D picture shows an angle truthfully only when the movement lies across the camera: body line,
lean, lockout and head from the side; knee tracking from the front. Depth is a vertical distance,
which a level camera reads the same from any view. On the labelled clips, though, correct
push-ups read shallower at three quarters (0.81-0.99 on three clips, 0.98 and more from the side)
and deeper head-on (median 1.61, side 1.26), likely because the shoulders travel forward as they
lower and a camera above the floor mixes that travel into their height unless it sees it from the
side. Push-up depth is judged from the side and head-on (where the error can only hide a shallow
rep), not at three quarters. A cue is judged only in the views listed for it in CUE_VIEWS, and
the live state tells the person which checks their view allows (view_hint, from HINTS; push-ups
head-on get the placement cue turn_sideways instead, see placement.py).
"""

from __future__ import annotations

from device.exercise.types import Cue
from device.exercise.view import FRONT, OTHER, SIDE

# "Head: detail": the phone shows the head large (a few words, one line at 48 px on a 360 px
# wide phone) and the detail under it; tests/test_browser_text_fit.py checks that all fit.
MESSAGES: dict[str, str] = {
    # squat
    "go_deeper": "Go deeper: thighs down to parallel",
    "chest_up": "Chest up: keep your back more upright",
    "knees_out": "Knees out: push them over your toes",
    "stand_up_fully": "Stand up: straighten your knees at the top",
    # push-up
    "go_lower": "Go lower: elbows to 90 degrees",
    "hips_sagging": "Hips sag: lift them into a straight line",
    "hips_piking": "Hips high: lower them into a straight line",
    "head_down": "Head up: keep it in line with your body",
    "lock_out": "Lock out: straighten your arms at the top",
    # placement
    "step_into_view": "Not seen: step into the camera's view",
    "whole_body_not_visible": "Step back: the camera must see all of you",
    "turn_sideways": "Turn 90°: push-ups are judged from the side",
}

ANY_VIEW = frozenset({SIDE, FRONT, OTHER})
CUE_VIEWS: dict[str, frozenset[str]] = {
    "go_deeper": ANY_VIEW,
    "chest_up": frozenset({SIDE}),
    "knees_out": frozenset({FRONT}),
    "stand_up_fully": frozenset({SIDE}),
    "go_lower": frozenset({SIDE, FRONT}),
    "hips_sagging": frozenset({SIDE}),
    "hips_piking": frozenset({SIDE}),
    "head_down": frozenset({SIDE}),
    "lock_out": frozenset({SIDE}),
}
EXERCISE_CUES: dict[str, tuple[str, ...]] = {
    "squat": ("go_deeper", "chest_up", "knees_out", "stand_up_fully"),
    "pushup": ("go_lower", "hips_sagging", "hips_piking", "head_down", "lock_out"),
}
HINTS: dict[tuple[str, str | None], str] = {
    ("pushup", OTHER): "Turn a bit more sideways for form tips (depth, body line, head, lockout)",
    ("squat", OTHER): "Stand side-on for back and lockout tips, or face the camera for knee tips",
}


def cue(code: str, t: float, exercise: str | None = None, severe: bool = False) -> Cue:
    return Cue(code, MESSAGES[code], t, exercise, severe)


def judged_in(code: str, view: str | None) -> bool:
    """True when the cue can be judged in this view (depth cues in any, even unknown)."""
    views = CUE_VIEWS[code]
    return views == ANY_VIEW or view in views


def form_checks(exercise: str | None, view: str | None) -> list[str]:
    """The form cues of the exercise that this view allows."""
    return [c for c in EXERCISE_CUES.get(exercise or "", ()) if judged_in(c, view)]
