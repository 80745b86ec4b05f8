"""Synthetic pose sequences for the exercise engine's tests: a stick figure in 3D, moved through
squats, push-ups, walking or standing, seen by an orthographic camera from any angle around it.

Body units are metres for a 1.75 m person; `scale` pixels per metre sets the distance to the camera.
A program is a list of (seconds, start, end) steps; the movement parameter (squat depth or elbow
bend, 0 = top, 1 = target depth) moves from start to end with a smooth ease.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from device.pose.keypoints import KEYPOINT_INDEX, Pose

SHIN, THIGH, TORSO, UPPER_ARM, FOREARM, NECK = 0.43, 0.45, 0.52, 0.30, 0.28, 0.22
FPS = 30.0
IMAGE = (1280, 720)

Skeleton = dict[str, np.ndarray]  # keypoint name -> (x forward, y left, z up) in metres
Program = list[tuple[float, float, float]]


def _both(name: str, point: np.ndarray, half_width: float) -> Skeleton:
    return {
        f"left_{name}": point + np.array([0.0, half_width, 0.0]),
        f"right_{name}": point - np.array([0.0, half_width, 0.0]),
    }


def _head(shoulder: np.ndarray, forward: np.ndarray, up: np.ndarray) -> Skeleton:
    nose = shoulder + NECK * up + 0.1 * forward
    return {
        "nose": nose,
        "left_eye": nose + np.array([0.0, 0.03, 0.03]) - 0.02 * forward,
        "right_eye": nose + np.array([0.0, -0.03, 0.03]) - 0.02 * forward,
        "left_ear": nose + np.array([0.0, 0.07, 0.0]) - 0.1 * forward,
        "right_ear": nose + np.array([0.0, -0.07, 0.0]) - 0.1 * forward,
    }


def squat_skeleton(
    depth: float, lean: float = 1.0, knee_cave: float = 0.0, stand_bend_deg: float = 0.0
) -> Skeleton:
    """Standing (0) to hips at knee height (1) and beyond; lean scales the torso lean; knee_cave
    moves the knees inwards at depth; stand_bend_deg leaves the knees bent at the top."""
    thigh_deg = stand_bend_deg + (90.0 - stand_bend_deg) * depth  # thigh from vertical
    shin = math.radians(0.45 * thigh_deg)
    thigh = math.radians(thigh_deg)
    ankle = np.array([0.0, 0.0, 0.08])
    knee = ankle + SHIN * np.array([math.sin(shin), 0.0, math.cos(shin)])
    hip = knee + THIGH * np.array([-math.sin(thigh), 0.0, math.cos(thigh)])
    torso = math.radians(lean * 0.45 * thigh_deg)
    shoulder = hip + TORSO * np.array([math.sin(torso), 0.0, math.cos(torso)])
    forward, up = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])
    elbow = shoulder + UPPER_ARM * forward
    wrist = elbow + FOREARM * forward
    knee_width = 0.16 * (1.0 - knee_cave * min(depth, 1.0))
    points = {
        **_both("ankle", ankle, 0.15),
        **_both("knee", knee, knee_width),
        **_both("hip", hip, 0.1),
        **_both("shoulder", shoulder, 0.18),
        **_both("elbow", elbow, 0.18),
        **_both("wrist", wrist, 0.15),
        **_head(shoulder, forward, up),
    }
    return points


def pushup_skeleton(
    depth: float,
    hip_drop: float = 0.0,
    top_bend_deg: float = 0.0,
    head_deg: float | None = None,
    on_knees: bool = False,
    feet_up: float = 0.0,
) -> Skeleton:
    """Plank with straight arms (0) to elbows at 90 degrees (1); the hands stay on the floor under
    the shoulders, the feet on the floor behind. hip_drop (metres) sags (+) or pikes (-) the hips;
    top_bend_deg keeps the elbows bent at the top. head_deg: the head along the body line, bent
    down by that many degrees (None: the default head, held up). on_knees: the knees on the floor,
    the shins raised behind; feet_up (metres): the feet on a box that high."""
    bend = math.radians(top_bend_deg + (90.0 - top_bend_deg) * depth)  # elbow bend from straight
    wrist = np.array([0.0, 0.0, 0.03])
    elbow = wrist + FOREARM * np.array([0.0, 0.0, 1.0])
    shoulder = elbow + UPPER_ARM * np.array([math.sin(bend), 0.0, math.cos(bend)])
    body, floor = (TORSO + THIGH, 0.05) if on_knees else (TORSO + THIGH + SHIN, 0.08 + feet_up)
    end_x = shoulder[0] - math.sqrt(body**2 - (shoulder[2] - floor) ** 2)
    end = np.array([end_x, 0.0, floor])  # the knee (on the knees) or the ankle
    along = (end - shoulder) / np.linalg.norm(end - shoulder)
    hip = shoulder + TORSO * along - np.array([0.0, 0.0, hip_drop])
    if on_knees:
        knee = end
        ankle = knee + SHIN * np.array(
            [-math.cos(math.radians(60)), 0.0, math.sin(math.radians(60))]
        )
    else:
        ankle = end
        knee = hip + THIGH * (ankle - hip) / np.linalg.norm(ankle - hip)
    forward, up = -along, np.array([0.0, 0.0, 1.0])
    if head_deg is None:
        head = _head(shoulder, forward, up)
    else:
        normal = np.array([-along[2], 0.0, along[0]])  # perpendicular to the body, upwards
        normal = normal if normal[2] > 0 else -normal
        h = math.radians(head_deg)
        neck = math.cos(h) * forward - math.sin(h) * normal
        face = -math.sin(h) * forward - math.cos(h) * normal
        head = _head(shoulder, face, neck)  # the ears on the neck's line, the face below
    return {
        **_both("wrist", wrist, 0.25),
        **_both("elbow", elbow, 0.24),
        **_both("shoulder", shoulder, 0.18),
        **_both("hip", hip, 0.1),
        **_both("knee", knee, 0.1),
        **_both("ankle", ankle, 0.1),
        **head,
    }


def walking_skeleton(t: float, speed: float = 1.3) -> Skeleton:
    """Walking forward (+x) at `speed` m/s, 1.8 steps a second, hips bobbing 2 cm."""
    phase = 2 * math.pi * 0.9 * t
    standing = squat_skeleton(0.0)
    base = np.array([speed * t, 0.0, 0.02 * math.cos(2 * phase)])
    points = {name: p + base for name, p in standing.items()}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        swing = 0.35 * math.sin(phase) * sign
        points[f"{side}_ankle"] = points[f"{side}_ankle"] + np.array([swing, 0.0, 0.0])
        points[f"{side}_knee"] = points[f"{side}_knee"] + np.array([swing / 2, 0.0, 0.0])
        points[f"{side}_wrist"] = points[f"{side}_wrist"] - np.array([0.5 + swing, 0.0, 0.45])
        points[f"{side}_elbow"] = points[f"{side}_elbow"] - np.array([0.3, 0.0, 0.28])
    return points


def project(
    points: Skeleton,
    yaw_deg: float,
    scale: float = 300.0,
    origin: tuple[float, float] = (640.0, 660.0),
    far_score: float = 0.5,
    near_score: float = 0.9,
) -> np.ndarray:
    """(17, 3) keypoints seen from yaw_deg around the body (0: from its left side, the body
    facing image right; 90: from the front). The far side gets far_score in side views."""
    yaw = math.radians(yaw_deg)
    keypoints = np.zeros((17, 3))
    side_weight = abs(math.cos(yaw))  # 1 in profile, 0 face-on
    for name, (x, y, z) in points.items():
        i = KEYPOINT_INDEX[name]
        keypoints[i, 0] = origin[0] + scale * (x * math.cos(yaw) - y * math.sin(yaw))
        keypoints[i, 1] = origin[1] - scale * z
        far = name.startswith("right_")
        keypoints[i, 2] = near_score - side_weight * (near_score - far_score) * far
    return keypoints


def eased(program: Program, fps: float = FPS) -> Iterator[tuple[float, float]]:
    """(t, value) at each frame of the program."""
    t = 0.0
    for seconds, start, end in program:
        frames = max(1, round(seconds * fps))
        for k in range(frames):
            u = k / frames
            yield t, start + (end - start) * (1 - math.cos(math.pi * u)) / 2
            t += 1.0 / fps


def reps(
    n: int,
    depth: float = 1.0,
    down_s: float = 1.0,
    up_s: float = 1.0,
    rest_s: float = 0.5,
    lead_s: float = 1.0,
) -> Program:
    """n reps to `depth`, with rests at the top (and `lead_s` standing first)."""
    program: Program = [(lead_s, 0.0, 0.0)]
    for _ in range(n):
        program += [(down_s, 0.0, depth), (up_s, depth, 0.0), (rest_s, 0.0, 0.0)]
    return program


def poses(
    program: Program,
    skeleton: Callable[[float], Skeleton],
    yaw_deg: float = 0.0,
    noise_px: float = 0.0,
    scale: float = 300.0,
    t0: float = 0.0,
    seed: int = 0,
    fps: float = FPS,
) -> list[Pose]:
    """The poses of a program, with Gaussian keypoint noise."""
    rng = np.random.default_rng(seed)
    out = []
    for t, value in eased(program, fps):
        keypoints = project(skeleton(value), yaw_deg, scale)
        keypoints[:, :2] += rng.normal(0.0, noise_px, (17, 2))
        out.append(Pose(keypoints, float(keypoints[:, 2].mean()), t0 + t, IMAGE))
    return out


def nobody(seconds: float, t0: float, fps: float = FPS) -> list[Pose]:
    """Frames with nobody in view (what the pipeline returns: low scores everywhere)."""
    frames = round(seconds * fps)
    keypoints = np.zeros((17, 3))
    keypoints[:, 2] = 0.05
    return [Pose(keypoints.copy(), 0.05, t0 + k / fps, IMAGE) for k in range(frames)]


def next_t(sequence: list[Pose], fps: float = FPS) -> float:
    return sequence[-1].t + 1.0 / fps if sequence else 0.0
