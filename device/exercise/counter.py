"""What squats and push-ups share: measure a height per frame, cut it into reps, judge each rep.

Judging a closed excursion (see reps.py):
1. it must start from the top: rules.end_fraction of its whole path seen (a rep cut by the start
   of the video, or begun from a crouch, is not a rep), or, where it starts at the point where
   the previous rep ended, a way down of at least rules.return_fraction of its way up;
2. the feet (squat) or hands (push-up) stay within rules.planted_tolerance body units: the joints
   that carry the body do not move in these exercises, while walking moves them;
3. the rep is measured on one body side: the side preferred when it opened (see update);
4. depth = range of motion / the drop that reaches the target depth (hips at knee height; elbows
   at 90 degrees), measured at the bottom. At least rules.count_depth of it, and at least
   rules.relative_depth of the person's own typical range (median of their last complete reps),
   makes a complete rep; less is a partial rep.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass

import numpy as np

from device.exercise.body import BodyScale
from device.exercise.geometry import Joints
from device.exercise.reps import DOWN, SETTLE, Excursion, RepSegmenter, Sample
from device.exercise.rules import ExerciseRules
from device.exercise.types import Cue, Rep

TYPICAL_REPS = 5  # complete reps that make the person's typical range of motion


@dataclass
class Measure:
    """One frame's measurements; heights and positions in body units."""

    h: float  # the height that goes down and up
    target: float  # the height that is exactly target depth
    anchor: np.ndarray  # (2, 2) pixels: left and right planted joint (feet or hands), NaN if hidden
    unit: float  # the body unit (leg or arm length) in pixels at this frame
    view: str | None


class ExerciseCounter(ABC):
    """Counts one exercise; subclasses say how to measure a frame and which cues a rep earns."""

    name: str
    segments: tuple[str, ...]  # the body segments (BodyScale) its heights are measured in

    def __init__(self, rules: ExerciseRules) -> None:
        self.rules = rules
        self.segmenter = RepSegmenter(rules, self.min_rom)
        self._typical: deque[float] = deque(maxlen=TYPICAL_REPS)
        self._recent: deque[tuple[float, float]] = deque()
        self._rep_side: str | None = None
        self._unscaled: deque[tuple[Joints, str | None, float]] = deque()

    @property
    @abstractmethod
    def min_rom(self) -> float: ...

    @abstractmethod
    def measure(self, joints: Joints, scale: BodyScale, view: str | None) -> Measure | None: ...

    @abstractmethod
    def cues(self, excursion: Excursion, depth: float, view: str | None) -> list[Cue]: ...

    def variant(self, excursion: Excursion) -> str | None:
        """A recognised variant of the exercise (see Rep.variant); none by default."""
        return None

    def reset(self) -> None:
        self.segmenter.reset()
        self._typical.clear()
        self._recent.clear()
        self._rep_side = None
        self._unscaled.clear()

    def update(
        self, joints: Joints | None, scale: BodyScale, view: str | None, t: float
    ) -> list[Rep]:
        """Feed one frame (joints None: not measurable or not this exercise's posture).

        Until the body scale knows the lengths this exercise measures in (a few frames after the
        person is first seen), frames with joints are held back and measured as soon as it
        does: the body does not change size in a second, and without this the first frames of
        a video are lost, which at a low frame rate is most of a rep cut by the video's start.
        """
        if joints is not None and scale.total(*self.segments) is None:
            self._unscaled.append((joints, view, t))
            while self._unscaled[0][2] < t - self.rules.max_gap_s:
                self._unscaled.popleft()
            return []
        frames = [*self._unscaled, (joints, view, t)]
        self._unscaled.clear()
        return [rep for f in frames if (rep := self._step(*f, scale)) is not None]

    def _step(
        self, joints: Joints | None, view: str | None, t: float, scale: BodyScale
    ) -> Rep | None:
        """One frame through the segmenter.

        While a rep is open it is measured on the body side preferred when it opened. The two
        sides give different heights in a side or three-quarter view (the far side is farther
        from the camera, so smaller, and partly guessed by MoveNet): a switch of the preferred
        side mid-rep would splice two curves, moving its top or bottom by more than a rep's
        margins. Between reps the side follows the keypoint scores again."""
        rep_open = self.segmenter.state in (DOWN, SETTLE)
        if joints is not None and rep_open and self._rep_side is not None:
            joints = joints.on_side(self._rep_side)
        m = self.measure(joints, scale, view) if joints is not None else None
        excursion = self.segmenter.update(t, None if m is None else self._filtered(t, m.h), m)
        if self.segmenter.state not in (DOWN, SETTLE):
            self._rep_side = None
        elif self._rep_side is None and joints is not None:
            self._rep_side = joints.side
        return self.judge(excursion) if excursion is not None else None

    def _filtered(self, t: float, h: float) -> float:
        """Median of the heights of the last rules.glitch_filter_s: a keypoint that jumps for a
        frame or two (MoveNet swapping or losing a joint) does not move the height."""
        self._recent.append((t, h))
        while self._recent[0][0] < t - self.rules.glitch_filter_s:
            self._recent.popleft()
        return float(np.median([v for _, v in self._recent]))

    def flush(self) -> Rep | None:
        excursion = self.segmenter.flush()
        return self.judge(excursion) if excursion is not None else None

    def judge(self, excursion: Excursion) -> Rep | None:
        rules = self.rules
        excursion = in_one_unit(excursion)
        if excursion.chained:
            if excursion.rom_down < rules.return_fraction * excursion.rom_up:
                return None
        elif excursion.seen_share < rules.end_fraction:
            return None
        if anchor_spread(excursion) > rules.planted_tolerance:
            return None
        bottom: Sample = excursion.bottom
        top = max(excursion.top, excursion.peak.h)
        target_drop = top - bottom.data.target
        depth = excursion.rom / target_drop if target_drop > 1e-6 else float("inf")
        typical = float(np.median(self._typical)) if self._typical else 0.0
        # bool(): depth and rom are numpy floats, whose comparisons give numpy bools.
        complete = bool(
            depth >= rules.count_depth and excursion.rom >= rules.relative_depth * typical
        )
        if complete:
            self._typical.append(excursion.rom)
        view = bottom.data.view
        return Rep(
            exercise=self.name,
            complete=complete,
            t_start=round(excursion.t_start, 3),
            t_bottom=round(bottom.t, 3),
            t_end=round(excursion.t_end, 3),
            depth=round(float(min(depth, 9.99)), 2),
            down_s=round(bottom.t - excursion.t_start, 2),
            up_s=round(excursion.t_end - bottom.t, 2),
            cues=tuple(self.cues(excursion, depth, view)),
            variant=self.variant(excursion),
        )


def in_one_unit(excursion: Excursion) -> Excursion:
    """The excursion with every height in the body unit of its last frame.

    Heights are measured live in the body unit known at each frame. Where the person has just
    appeared (a video's start, after a gap) that unit rests on a few frames, some taken before
    the crop found the body, and it settles during the first rep: on correct20.mp4 the arm
    length read 112 px at the first frame and 84 px a second later with one CPU's int8
    arithmetic (91 and 85 px with float16), so the top of the rep read 25% lower than its end
    and the rep looked cut by the video's start. A person's arms and legs do not change length
    within a rep: one unit, the one that has seen the most frames, makes its heights
    comparable."""
    unit = excursion.peak.data.unit if excursion.peak.data is not None else None
    if not unit:
        return excursion

    def rescaled(sample: Sample) -> Sample:
        if sample.data is None:
            return sample
        return Sample(sample.t, sample.h * sample.data.unit / unit, sample.data)

    samples = [rescaled(s) for s in excursion.samples]
    by_time = {s.t: s for s in samples}
    first = excursion.samples[0].data if excursion.samples else None
    top = excursion.top * (first.unit / unit if first is not None else 1.0)
    return Excursion(
        top=top,
        bottom=by_time.get(excursion.bottom.t, rescaled(excursion.bottom)),
        peak=by_time.get(excursion.peak.t, rescaled(excursion.peak)),
        t_start=excursion.t_start,
        samples=samples,
        chained=excursion.chained,
    )


def anchor_spread(excursion: Excursion) -> float:
    """How far the planted joints wandered, in body units: per body side, the 80th percentile of
    the distance from their median position (a few frames of a swapped left/right keypoint do
    not count). Distances are taken in pixels and divided by the rep's median body unit: the
    body scale may still settle during a rep (it is a percentile over the frames seen so far),
    and positions divided by a changing unit would move while the hands stay put."""
    measured = [s.data for s in excursion.samples if s.data is not None]
    anchors = np.array([m.anchor for m in measured])
    unit = float(np.median([m.unit for m in measured]))
    spread = 0.0
    for side in range(anchors.shape[1]):
        points = anchors[:, side]
        points = points[~np.isnan(points).any(axis=1)]
        if len(points) >= 3:
            distances = np.linalg.norm(points - np.median(points, axis=0), axis=1)
            spread = max(spread, float(np.percentile(distances, 80)) / unit)
    return spread


def near_bottom(excursion: Excursion, share: float = 0.25) -> list[Sample]:
    """Samples within `share` of the range of motion from the bottom."""
    limit = excursion.bottom.h + share * excursion.rom
    return [s for s in excursion.samples if s.h <= limit and s.data is not None]


def after_bottom(excursion: Excursion) -> list[Sample]:
    """Samples from the bottom to the end of the rep (the way up and the top)."""
    return [s for s in excursion.samples if s.t >= excursion.bottom.t and s.data is not None]
