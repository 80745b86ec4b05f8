"""Keypoints as points that may be missing, and the angles and lengths between them.

A keypoint scored below the threshold is None, never (0, 0): a hidden ankle must not look like an
ankle at the image corner. Image y grows downwards, so "higher" means a smaller y.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable

import numpy as np

from device.pose.keypoints import KEYPOINT_INDEX, Pose

Point = np.ndarray  # shape (2,): x, y in pixels
SIDES: tuple[str, str] = ("left", "right")


class Joints:
    """The visible keypoints of one pose, looked up by name, with a preferred body side."""

    def __init__(self, pose: Pose, min_score: float, side: str = "left", average: bool = False):
        self.pose = pose
        self.xy = np.asarray(pose.keypoints[:, :2], dtype=np.float64)
        self.ok = np.asarray(pose.keypoints[:, 2]) >= min_score
        self.side = side
        self.average = average  # front view: both sides are seen, use their midpoint

    def on_side(self, side: str) -> Joints:
        """The same keypoints with another preferred side (a copy: others keep theirs)."""
        if side == self.side:
            return self
        other = copy.copy(self)
        other.side = side
        return other

    def get(self, name: str) -> Point | None:
        """One named keypoint ("left_knee", "nose"), or None when it is not visible."""
        i = KEYPOINT_INDEX[name]
        return self.xy[i] if self.ok[i] else None

    def pick(self, joint: str) -> Point | None:
        """A joint ("knee") on the preferred side, else on the other side; the midpoint of both
        sides when averaging (front view)."""
        other = SIDES[1] if self.side == SIDES[0] else SIDES[0]
        near = self.get(f"{self.side}_{joint}")
        far = self.get(f"{other}_{joint}")
        if self.average and near is not None and far is not None:
            return (near + far) / 2
        return near if near is not None else far

    def chain(self, joints: Iterable[str]) -> list[Point] | None:
        """The joints of one side (preferred side first) when all of them are visible: angles
        must not mix the left knee with the right hip."""
        names = list(joints)
        other = SIDES[1] if self.side == SIDES[0] else SIDES[0]
        for side in (self.side, other):
            points = [self.get(f"{side}_{j}") for j in names]
            if all(p is not None for p in points):
                return points  # type: ignore[return-value]
        return None

    def points(self, *joints: str) -> list[Point] | None:
        """Several joints measured together (a height from the hips to the ankles): all on one
        side, the preferred first; in a front view the midpoints of both sides where both sides
        show them all. Never one joint from each side: the far side is farther from the camera
        and partly guessed, and a keypoint score near the threshold would swap sides from frame
        to frame, making the height jump by the sides' difference."""
        if self.average:
            left, right = ([self.get(f"{side}_{j}") for j in joints] for side in SIDES)
            if all(p is not None for p in left + right):
                return [(a + b) / 2 for a, b in zip(left, right, strict=True)]  # type: ignore[operator]
        return self.chain(joints)

    def midpoint(self, joint: str) -> Point | None:
        """Midpoint of the left and right joint, or the one that is visible."""
        left, right = self.get(f"left_{joint}"), self.get(f"right_{joint}")
        if left is not None and right is not None:
            return (left + right) / 2
        return left if left is not None else right

    def pair(self, joint: str) -> np.ndarray:
        """(2, 2) array: the left and the right joint, NaN where not visible."""
        out = np.full((2, 2), np.nan)
        for row, side in enumerate(SIDES):
            point = self.get(f"{side}_{joint}")
            if point is not None:
                out[row] = point
        return out

    def width(self, joint: str) -> float | None:
        """Distance between the left and right joint (shoulder or hip width), if both visible."""
        left, right = self.get(f"left_{joint}"), self.get(f"right_{joint}")
        if left is None or right is None:
            return None
        return float(np.linalg.norm(left - right))


def distance(a: Point | None, b: Point | None) -> float | None:
    if a is None or b is None:
        return None
    return float(np.linalg.norm(a - b))


def angle_deg(a: Point, b: Point, c: Point) -> float | None:
    """The angle at b between b->a and b->c in degrees (180 = straight), None if degenerate."""
    u, v = a - b, c - b
    nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    if nu < 1e-6 or nv < 1e-6:
        return None
    cos = float(np.dot(u, v)) / (nu * nv)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def from_vertical_deg(lower: Point, upper: Point) -> float:
    """Angle of the segment lower->upper from straight up: 0 upright, 90 lying, 180 upside down."""
    dx, dy = upper[0] - lower[0], lower[1] - upper[1]  # dy > 0 when upper is higher in the image
    return math.degrees(math.atan2(abs(dx), dy))


def line_bend_deg(a: Point, b: Point, c: Point) -> float | None:
    """How far b bends the line a-b-c, signed: positive when b lies below the straight line from a
    to c in the image (hips sagging), negative above it (hips piking), 0 straight."""
    inner = angle_deg(a, b, c)
    if inner is None or abs(c[0] - a[0]) < 1e-6:
        return None
    line_y = a[1] + (c[1] - a[1]) * (b[0] - a[0]) / (c[0] - a[0])
    return (180.0 - inner) * (1.0 if b[1] > line_y else -1.0)
