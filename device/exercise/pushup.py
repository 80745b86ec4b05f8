"""Push-ups: the shoulders' height above the hands in arm lengths, and the push-up's form cues.

At the top the arms are straight and about vertical: the shoulders are nearly one arm length above
the hands. With the elbows at 90 degrees and the forearms vertical, the shoulders are one forearm
length above the hands: that is the target depth. Both are vertical image distances, so they read
the same from the side, the front (head-on) or at three quarters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.exercise.body import BodyScale
from device.exercise.counter import ExerciseCounter, Measure, after_bottom
from device.exercise.cues import cue
from device.exercise.geometry import Joints, angle_deg, line_bend_deg
from device.exercise.reps import Excursion
from device.exercise.types import Cue
from device.exercise.view import SIDE


@dataclass
class PushupMeasure(Measure):
    elbow_angle: float | None
    hip_bend: float | None  # shoulder-hip-ankle bend; positive = sagging


class PushupCounter(ExerciseCounter):
    name = "pushup"
    segments = ("upper_arm", "forearm")

    @property
    def min_rom(self) -> float:
        return self.rules.pushup_min_rom

    def measure(self, joints: Joints, scale: BodyScale, view: str | None) -> PushupMeasure | None:
        arm = scale.total("upper_arm", "forearm")
        forearm = scale.length("forearm")
        shoulder, wrist = joints.pick("shoulder"), joints.pick("wrist")
        if not arm or not forearm or shoulder is None or wrist is None:
            return None
        arm_chain = joints.chain(("shoulder", "elbow", "wrist"))
        body = joints.chain(("shoulder", "hip", "ankle")) or joints.chain(
            ("shoulder", "hip", "knee")
        )
        return PushupMeasure(
            h=(wrist[1] - shoulder[1]) / arm,
            target=forearm / arm,
            anchor=joints.pair("wrist") / arm,
            view=view,
            elbow_angle=None if arm_chain is None else angle_deg(*arm_chain),
            hip_bend=None if body is None else line_bend_deg(*body),
        )

    def cues(self, excursion: Excursion, depth: float, view: str | None) -> list[Cue]:
        rules, t = self.rules, excursion.bottom.t
        found = []
        if depth < 1.0 - rules.depth_tolerance:
            found.append(cue("go_lower", t, self.name))
        if view == SIDE:
            bends = [s.data.hip_bend for s in excursion.samples if s.data is not None]
            bends = [b for b in bends if b is not None]
            bend = float(np.median(bends)) if bends else 0.0
            if bend > rules.pushup_hip_deg:
                found.append(cue("hips_sagging", t, self.name))
            elif bend < -rules.pushup_hip_deg:
                found.append(cue("hips_piking", t, self.name))
            elbows = [s.data.elbow_angle for s in after_bottom(excursion)]
            elbows = [e for e in elbows if e is not None]
            if elbows and max(elbows) < rules.pushup_lockout_deg:
                found.append(cue("lock_out", excursion.peak.t, self.name))
        return found
