"""Push-ups: the shoulders' height above the hands in arm lengths, and the push-up's form cues.

At the top the arms are straight and about vertical: the shoulders are nearly one arm length above
the hands. With the elbows at 90 degrees and the forearms vertical, the shoulders are one forearm
length above the hands: that is the target depth. Both are vertical image distances, so reps are
counted alike from the side, the front (head-on) or at three quarters; the depth cue is judged
only where the shoulders' forward travel does not bias it (cues.py).

Form is judged over enough frames that one CPU's keypoints cannot tip it. A sag is judged by the
bend the body line holds for a fifth of the whole rep (LINE_SHARE: its 80th percentile), the
head by its median over the rep: a rep's bottom-and-up phase is 5-20 frames, the whole rep two
to three times that, and a percentile of few frames moves with a few pixels of one keypoint. A
sag that shows only around the bottom still holds for a fifth of the rep. Piked hips are judged
from the bottom to halfway back up (PIKE_SHARE: the 25th percentile there): at the top of a
straight rep MoveNet's hip reads a little high, and over the whole rep correct reps read piked.
A knee push-up (knees on the floor, knee bent) is judged along shoulder-hip-knee, its own
straight line; feet raised on a box or a wall only tilt the line, which the bend does not see.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.exercise.body import BodyScale
from device.exercise.counter import ExerciseCounter, Measure, after_bottom
from device.exercise.cues import cue, judged_in
from device.exercise.geometry import Joints, angle_deg, line_bend_deg
from device.exercise.reps import Excursion, Sample
from device.exercise.rules import ExerciseRules
from device.exercise.types import Cue
from device.exercise.view import SIDE


@dataclass
class PushupMeasure(Measure):
    elbow_angle: float | None
    hip_bend: float | None  # shoulder-hip-ankle bend; positive = sagging
    knee_line_bend: float | None  # shoulder-hip-knee bend (knee push-ups); positive = sagging
    knee_angle: float | None  # hip-knee-ankle: straight in a push-up, bent on the knees
    feet_up: float | None  # ankles above the wrists, arm lengths
    knees_up: float | None  # knees above the wrists, arm lengths
    head_drop: float | None  # ear below the body line (ankle or knee to shoulder); + = hanging


KNEES, FEET_RAISED = "knees", "feet_raised"
KNEE_FLOOR = 0.3  # arm lengths (about 17 cm): knee and wrist keypoints both sit near the floor
# The body line is judged by the bend it holds for part of its frames, not its median: a sag that
# shows only through part of the rep counts, one frame's keypoint jump does not.
LINE_SHARE = 80.0  # percentile of the bend over the whole rep: sag
PIKE_SHARE = 25.0  # percentile of the bend from the bottom to halfway up: pike


class PushupCounter(ExerciseCounter):
    name = "pushup"
    segments = ("upper_arm", "forearm")

    def variant(self, excursion: Excursion) -> str | None:
        return push_up_variant(excursion, self.rules)

    @property
    def min_rom(self) -> float:
        return self.rules.pushup_min_rom

    def measure(self, joints: Joints, scale: BodyScale, view: str | None) -> PushupMeasure | None:
        arm = scale.total("upper_arm", "forearm")
        forearm = scale.length("forearm")
        measured = joints.points("shoulder", "wrist")
        if not arm or not forearm or measured is None:
            return None
        shoulder, wrist = measured
        ankle, knee = joints.pick("ankle"), joints.pick("knee")
        arm_chain = joints.chain(("shoulder", "elbow", "wrist"))
        body = joints.chain(("shoulder", "hip", "ankle"))
        thigh = joints.chain(("shoulder", "hip", "knee"))
        leg = joints.chain(("hip", "knee", "ankle"))
        knee_angle = None if leg is None else angle_deg(*leg)
        straight_end = (
            "knee"
            if knee_angle is not None and knee_angle < self.rules.knee_pushup_deg
            else "ankle"
        )
        head = joints.chain((straight_end, "shoulder", "ear")) or joints.chain(
            ("knee", "shoulder", "ear")
        )
        drop = None if head is None else line_bend_deg(*head)
        return PushupMeasure(
            h=(wrist[1] - shoulder[1]) / arm,
            target=forearm / arm,
            anchor=joints.pair("wrist"),
            unit=arm,
            view=view,
            elbow_angle=None if arm_chain is None else angle_deg(*arm_chain),
            hip_bend=None if body is None else line_bend_deg(*body),
            knee_line_bend=None if thigh is None else line_bend_deg(*thigh),
            knee_angle=knee_angle,
            feet_up=None if ankle is None else (wrist[1] - ankle[1]) / arm,
            knees_up=None if knee is None else (wrist[1] - knee[1]) / arm,
            head_drop=None if drop is None else -drop,  # the shoulder above the body-ear line
        )

    def cues(self, excursion: Excursion, depth: float, view: str | None) -> list[Cue]:
        rules, t = self.rules, excursion.bottom.t
        found = []
        if depth < 1.0 - rules.depth_tolerance and judged_in("go_lower", view):
            # severe: too shallow to count as a rep at all
            found.append(cue("go_lower", t, self.name, severe=depth < rules.count_depth))
        rep = [s for s in excursion.samples if s.data is not None]
        if judged_in("hips_sagging", view):
            field = "knee_line_bend" if self.variant(excursion) == KNEES else "hip_bend"
            sag = percentile(rep, field, LINE_SHARE)
            pike = percentile(bottom_and_up(excursion), field, PIKE_SHARE)
            if sag is not None and sag > rules.pushup_hip_deg:
                severe = sag > rules.pushup_sag_severe_deg
                found.append(cue("hips_sagging", t, self.name, severe=severe))
            elif pike is not None and pike < -rules.pushup_pike_deg:
                found.append(cue("hips_piking", t, self.name))
        head = median(rep, "head_drop")
        if judged_in("head_down", view) and head is not None and head > rules.pushup_head_deg:
            found.append(cue("head_down", t, self.name))
        elbows = [s.data.elbow_angle for s in after_bottom(excursion)]
        elbows = [e for e in elbows if e is not None]
        if judged_in("lock_out", view) and elbows and max(elbows) < rules.pushup_lockout_deg:
            found.append(cue("lock_out", excursion.peak.t, self.name))
        return found


def push_up_variant(excursion: Excursion, rules: ExerciseRules) -> str | None:
    """Knees: the knee stays bent well below a straight leg and rests on the floor, at the
    hands' level (medians over the rep). Feet raised: the ankles well above the hands (a
    straight body on the floor has them at most about 0.4 arm lengths higher: the foot's
    height). Read from the side only: at an angle the legs recede and a straight knee reads
    bent in 2D (one leg raised or a knee pulled in, at three quarters, read as 'on the knees')."""
    samples = [s for s in excursion.samples if s.data is not None]
    if not samples or samples[0].data.view != SIDE:
        return None
    knee, knees_up = median(samples, "knee_angle"), median(samples, "knees_up")
    if knee is not None and knee < rules.knee_pushup_deg and abs(knees_up or 1.0) < KNEE_FLOOR:
        return KNEES
    feet = median(samples, "feet_up")
    if feet is not None and feet > rules.feet_raised_arms:
        return FEET_RAISED
    return None


def bottom_and_up(excursion: Excursion) -> list[Sample]:
    """The samples from the bottom back up to the midpoint of the way up, before the top (where
    a straight body's hip keypoint reads a little high)."""
    limit = excursion.bottom.h + 0.5 * excursion.rom_up
    return [
        s
        for s in excursion.samples
        if s.t >= excursion.bottom.t and s.h <= limit and s.data is not None
    ]


def median(samples: list[Sample], field: str) -> float | None:
    return percentile(samples, field, 50.0)


def percentile(samples: list[Sample], field: str, q: float) -> float | None:
    """The q-th percentile of a measurement over the samples where it was measured."""
    values = [getattr(s.data, field) for s in samples]
    values = [v for v in values if v is not None]
    return float(np.percentile(values, q)) if values else None
