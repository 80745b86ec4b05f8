"""Transforms of a video's frames that must not change its rep count, to probe generalisation.

Our clips are a few dozen people, rooms and cameras; the appliance will see others. Each transform
imitates one way another home's footage differs, applied in memory to the frames on their way
into the pose pipeline (`repcounter eval --augment NAME[,NAME...]`); no clip copy is ever written.
A run may chain transforms with "+" (e.g. "far+dim").

- mirror: the person faces the other way (left-right flip).
- half_fps: every other frame dropped, timestamps kept: a camera or Pi running at half the rate.
- fps15, fps10, fps8, fps6, fps5: frames dropped to at most that many per second, the first
  frame of each 1/fps tick kept, as a Pi whose pose model takes longer than a camera frame
  delivers them (a Pi 4's CPU runs Lightning int8 at about 10 fps and float16 at about 5).
- drop30: 30 % of frames dropped at random (fixed seed): an inference thread that falls behind
  irregularly.
- res360: downscaled to the pixel count of 640x360 (never upscaled), the size of a cheap camera
  stream; the aspect ratio is kept.
- half_res: downscaled 0.5x.
- far: the picture shrunk 0.5x inside a border of the original size (the frame's mean colour):
  the person at half the height, as if twice as far from the camera, with fewer pixels.
- dim: contrast x0.35, dark, with sensor-gain noise: an evening room lit by one lamp.
- jpeg_blur: slight defocus (Gaussian blur, sigma 1 px at 360 lines) then JPEG quality 30.

None of these changes a true count. A 60 fps camera cannot be imitated honestly from 24-30 fps
footage (duplicated or interpolated frames carry no new information), so there is no fps60.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from device.capture.frame import Frame
from device.errors import ConfigError
from device.pose.keypoints import Pose

FrameStream = Iterable[Frame]
Transform = Callable[[FrameStream], Iterator[Frame]]
PoseTransform = Callable[[Iterable[Pose], str], Iterator[Pose]]  # poses, the clip's name

SEED = 20240611  # fixed: an augmented eval gives the same numbers every run


def _per_frame(fn: Callable[[np.ndarray], np.ndarray]) -> Transform:
    def transform(frames: FrameStream) -> Iterator[Frame]:
        for frame in frames:
            yield Frame(np.ascontiguousarray(fn(frame.image)), frame.t, frame.index)

    return transform


def mirror(frames: FrameStream) -> Iterator[Frame]:
    return _per_frame(lambda image: image[:, ::-1])(frames)


def half_fps(frames: FrameStream) -> Iterator[Frame]:
    return (frame for i, frame in enumerate(frames) if i % 2 == 0)


def max_fps(fps: float) -> Transform:
    """Keep the first frame of each 1/fps tick of the frame clock: 30 -> 15 keeps every other
    frame, 24 -> 15 keeps 15 a second at uneven intervals, as a busy Pi delivers them."""

    def transform(frames: FrameStream) -> Iterator[Frame]:
        last_tick: int | None = None
        for frame in frames:
            tick = math.floor(frame.t * fps + 1e-6)
            if tick != last_tick:
                last_tick = tick
                yield frame

    return transform


def random_drop(share: float, seed: int = SEED) -> Transform:
    def transform(frames: FrameStream) -> Iterator[Frame]:
        rng = np.random.default_rng(seed)
        for i, frame in enumerate(frames):
            if i == 0 or rng.random() >= share:  # the first frame always arrives
                yield frame

    return transform


def scale_to_pixels(pixels: int) -> Transform:
    """Downscale to about `pixels` pixels, aspect kept; a smaller frame is left as it is."""

    def fn(image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        factor = math.sqrt(pixels / (width * height))
        if factor >= 1.0:
            return image
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    return _per_frame(fn)


def scale(factor: float) -> Transform:
    def fn(image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    return _per_frame(fn)


def farther(factor: float = 0.5) -> Transform:
    """The picture shrunk by `factor` and centred in a border of the original size. The border is
    the first frame's mean colour, fixed for the clip (a flickering border would be a cue no
    real room gives)."""

    def transform(frames: FrameStream) -> Iterator[Frame]:
        colour: np.ndarray | None = None
        for frame in frames:
            image = frame.image
            height, width = image.shape[:2]
            if colour is None:
                colour = image.reshape(-1, 3).mean(axis=0).astype(np.uint8)
            size = (max(1, round(width * factor)), max(1, round(height * factor)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            canvas = np.empty_like(image)
            canvas[:] = colour
            y0, x0 = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
            canvas[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
            yield Frame(canvas, frame.t, frame.index)

    return transform


def dim(
    contrast: float = 0.35, level: float = 0.25, noise: float = 3.0, seed: int = SEED
) -> Transform:
    """Pixel values squeezed around a dark mean level (`level` of full scale) and gain noise."""

    def transform(frames: FrameStream) -> Iterator[Frame]:
        rng = np.random.default_rng(seed)
        for frame in frames:
            image = frame.image.astype(np.float32)
            out = (image - 128.0) * contrast + 255.0 * level
            out += rng.normal(0.0, noise, size=image.shape[:2])[..., None].astype(np.float32)
            yield Frame(np.clip(out, 0, 255).astype(np.uint8), frame.t, frame.index)

    return transform


def jpeg_blur(quality: int = 30, sigma_at_360: float = 1.0) -> Transform:
    def fn(image: np.ndarray) -> np.ndarray:
        sigma = sigma_at_360 * min(image.shape[:2]) / 360.0
        blurred = cv2.GaussianBlur(image, (0, 0), sigma)
        ok, data = cv2.imencode(".jpg", blurred[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]

    return _per_frame(fn)


@dataclass(frozen=True)
class JitterModel:
    """How keypoints move between CPU arithmetics (measured by `repcounter eval-matrix`): per
    score band, the spread of a coordinate's difference as a share of the body's extent, its
    correlation from one frame to the next (the crop and the smoothing carry a difference on),
    and the spread of the score's difference."""

    bands: tuple[tuple[float, float], ...]  # (lowest score, spread / body extent), high first
    frame_correlation: float
    score_spread: float


def jitter(model: JitterModel, seed: int = SEED) -> PoseTransform:
    """Every keypoint moved by seeded noise as the arithmetics move it (a red-noise process per
    coordinate, scaled per score band by the body's extent); scores moved too, kept in [0, 1].
    The seed mixes in the clip's name, so each clip gets its own, repeatable noise."""

    def transform(poses: Iterable[Pose], clip: str) -> Iterator[Pose]:
        rng = np.random.default_rng([seed, *clip.encode()])
        rho = model.frame_correlation
        drift = np.zeros((17, 3))
        for pose in poses:
            drift = rho * drift + math.sqrt(1 - rho * rho) * rng.standard_normal((17, 3))
            points = pose.keypoints.copy()
            extent = body_extent(points) or 0.0
            spread = np.array([_band_spread(model, s) for s in points[:, 2]])
            points[:, :2] += drift[:, :2] * (spread * extent)[:, None]
            points[:, 2] = np.clip(points[:, 2] + drift[:, 2] * model.score_spread, 0.0, 1.0)
            yield Pose(points, pose.score, pose.t, pose.image_size)

    return transform


def body_extent(keypoints: np.ndarray, min_score: float = 0.3) -> float | None:
    """The larger side of the box around the keypoints seen (score >= min_score), in pixels:
    the size MoveNet's crop follows, so the size its keypoint errors scale with."""
    seen = keypoints[keypoints[:, 2] >= min_score, :2]
    if len(seen) < 2:
        return None
    return float(np.ptp(seen, axis=0).max()) or None


def _band_spread(model: JitterModel, score: float) -> float:
    for lowest, spread in model.bands:
        if score >= lowest:
            return spread
    return model.bands[-1][1]


TRANSFORMS: dict[str, Transform] = {
    "none": lambda frames: iter(frames),
    "mirror": mirror,
    "half_fps": half_fps,
    **{f"fps{fps}": max_fps(float(fps)) for fps in (15, 10, 8, 6, 5)},
    "drop30": random_drop(0.3),
    "res360": scale_to_pixels(640 * 360),
    "half_res": scale(0.5),
    "far": farther(0.5),
    "dim": dim(),
    "jpeg_blur": jpeg_blur(),
}


# Measured by `repcounter eval-matrix` between int8 poses of the clips on an x86-64 (AVX-512 VNNI)
# with OpenCV 5.1 and 5.0, and on a Pi 4's and a Pi 5's cores under qemu (README, "Counting on
# every CPU"): per score band, the larger of the difference's spread and its median / 0.674 (a
# normal's median absolute value), as a share of the body's extent; frame-to-frame correlation
# 0.08-0.15; score difference spread 0.16-0.17. float16 moves far less (README): this is int8's.
ARITHMETICS = JitterModel(
    bands=((0.5, 0.012), (0.3, 0.015), (0.0, 0.021)), frame_correlation=0.15, score_spread=0.17
)
# jitter, jitter2 ... jitter5: the same model with other seeds, for a spread of outcomes.
POSE_TRANSFORMS: dict[str, PoseTransform] = {
    f"jitter{n if n > 1 else ''}": jitter(ARITHMETICS, SEED + n - 1) for n in range(1, 6)
}


def split(spec: str | None) -> tuple[str, PoseTransform | None]:
    """A run's frame transforms ("none" when it has none) and its pose transform, if any: frame
    transforms change what the pose model sees (and what the pose cache keys), pose transforms
    act on the poses it gave."""
    names = [n.strip() for n in (spec or "none").split("+") if n.strip()]
    parse("+".join(names) or "none")  # the same errors as parse
    frame_names = [n for n in names if n in TRANSFORMS and n != "none"]
    pose_names = [n for n in names if n in POSE_TRANSFORMS]
    if len(pose_names) > 1:
        raise ConfigError(f"{spec!r}: at most one pose transform ({', '.join(POSE_TRANSFORMS)}).")
    return "+".join(frame_names) or "none", POSE_TRANSFORMS[pose_names[0]] if pose_names else None


def parse(spec: str) -> Transform:
    """One run's transform: names joined by "+", applied left to right."""
    names = [n.strip() for n in spec.split("+") if n.strip()]
    unknown = [n for n in names if n not in TRANSFORMS and n not in POSE_TRANSFORMS]
    if not names or unknown:
        raise ConfigError(
            f"unknown augmentation {spec!r}: use one of "
            f"{', '.join([*TRANSFORMS, *POSE_TRANSFORMS])} "
            "(several joined by '+', several runs separated by ',', or 'all')."
        )
    steps = [TRANSFORMS[n] for n in names if n in TRANSFORMS]

    def transform(frames: FrameStream) -> Iterator[Frame]:
        stream: Iterable[Frame] = frames
        for step in steps:
            stream = step(stream)
        return iter(stream)

    return transform


def parse_runs(spec: str) -> list[str]:
    """The runs of `--augment`: comma-separated specs; 'all' is none and every transform."""
    runs: list[str] = []
    for part in spec.split(","):
        part = part.strip()
        if part == "all":
            runs.extend([*TRANSFORMS, *POSE_TRANSFORMS])
        elif part:
            parse(part)  # validate now, before any clip is counted
            runs.append(part)
    if not runs:
        raise ConfigError("--augment needs at least one transform name.")
    return list(dict.fromkeys(runs))
