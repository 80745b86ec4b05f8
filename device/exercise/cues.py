"""Cue codes and the short messages the phone shows for them."""

from __future__ import annotations

from device.exercise.types import Cue

MESSAGES: dict[str, str] = {
    # squat
    "go_deeper": "Go deeper: hips down to knee height",
    "chest_up": "Keep your chest up",
    "knees_out": "Push your knees out",
    "stand_up_fully": "Stand up fully at the top",
    # push-up
    "go_lower": "Go lower: elbows to 90 degrees",
    "hips_sagging": "Hips sagging: keep a straight line",
    "hips_piking": "Hips too high: keep a straight line",
    "lock_out": "Straighten your arms at the top",
    # placement
    "step_into_view": "Step into view",
    "whole_body_not_visible": "Whole body not visible: step back or move the camera",
    "turn_sideways": "Turn sideways for push-ups",
}


def cue(code: str, t: float, exercise: str | None = None) -> Cue:
    return Cue(code, MESSAGES[code], t, exercise)
