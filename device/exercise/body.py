"""Body size and the better-visible side, both estimated over time from the poses seen.

Body size: a limb seen in a picture is never longer than it is, and it shows its full length
whenever it lies across the camera's view. So the 90th percentile of each segment's 2D length over
the last seconds is its length at the person's current distance; heights divided by it do not
depend on how far away the person stands. Segments are measured separately (thigh and shin, upper
arm and forearm) so that a squat's foreshortened thigh (front view) does not shorten the shin.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from device.exercise.geometry import SIDES, Joints, distance

SEGMENTS: dict[str, tuple[str, str]] = {
    "thigh": ("hip", "knee"),
    "shin": ("knee", "ankle"),
    "upper_arm": ("shoulder", "elbow"),
    "forearm": ("elbow", "wrist"),
}
SIDE_CHAIN = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
SIDE_TIME_CONSTANT_S = 1.0  # the preferred side follows the scores over about a second


class BodyScale:
    """Segment lengths (pixels) from the recent history of both body sides."""

    PERCENTILE = 90.0
    MIN_SAMPLES = 5  # a length from fewer frames is not trusted yet

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._samples: dict[str, deque[tuple[float, float]]] = {k: deque() for k in SEGMENTS}

    def reset(self) -> None:
        for samples in self._samples.values():
            samples.clear()

    def update(self, joints: Joints, t: float) -> None:
        for segment, (a, b) in SEGMENTS.items():
            samples = self._samples[segment]
            for side in SIDES:
                length = distance(joints.get(f"{side}_{a}"), joints.get(f"{side}_{b}"))
                if length is not None and length > 0:
                    samples.append((t, length))
            while samples and samples[0][0] < t - self.window_s:
                samples.popleft()

    def length(self, segment: str) -> float | None:
        samples = self._samples[segment]
        if len(samples) < self.MIN_SAMPLES:
            return None
        return float(np.percentile([length for _, length in samples], self.PERCENTILE))

    def total(self, *segments: str) -> float | None:
        """Sum of segment lengths (e.g. leg = thigh + shin), None until each has been seen."""
        lengths = [self.length(s) for s in segments]
        if any(v is None for v in lengths):
            return None
        return float(sum(lengths))  # type: ignore[arg-type]


class SidePicker:
    """The body side the camera sees better: higher smoothed keypoint scores along the chain.

    In a side view the far side is hidden and MoveNet guesses it with low scores; measuring angles
    on the near side avoids those guesses. Smoothing keeps the choice from flipping every frame.
    """

    def __init__(self) -> None:
        self._score = {side: 0.0 for side in SIDES}
        self._t: float | None = None

    def reset(self) -> None:
        self._score = {side: 0.0 for side in SIDES}
        self._t = None

    def update(self, keypoint_scores: np.ndarray, t: float, index: dict[str, int]) -> str:
        dt = 1.0 if self._t is None else max(0.0, t - self._t)
        alpha = 1.0 - float(np.exp(-dt / SIDE_TIME_CONSTANT_S))
        self._t = t
        for side in SIDES:
            now = float(np.mean([keypoint_scores[index[f"{side}_{j}"]] for j in SIDE_CHAIN]))
            self._score[side] += alpha * (now - self._score[side])
        return self.side

    @property
    def side(self) -> str:
        return SIDES[0] if self._score[SIDES[0]] >= self._score[SIDES[1]] else SIDES[1]
