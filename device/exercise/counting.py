"""Counting a whole video: poses through the tracker, collected into one result."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from device.capture.frame import Frame
from device.capture.video_file import iter_video
from device.exercise import augment
from device.exercise.rules import ExerciseRules
from device.exercise.tracker import ExerciseTracker
from device.exercise.types import Cue, Rep
from device.pose.cache import PoseCache
from device.pose.keypoints import Pose
from device.pose.pipeline import PosePipeline


@dataclass
class CountResult:
    exercise: str | None  # the recognised (or pinned) exercise
    reps: list[Rep] = field(default_factory=list)  # complete and partial, in order
    placement: list[Cue] = field(default_factory=list)
    frames: int = 0
    duration_s: float = 0.0

    @property
    def complete(self) -> list[Rep]:
        return [r for r in self.reps if r.complete]

    @property
    def partial(self) -> list[Rep]:
        return [r for r in self.reps if not r.complete]

    def count(self, exercise: str | None = None) -> int:
        """Complete reps of the exercise (default: the recognised one)."""
        exercise = exercise or self.exercise
        return sum(1 for r in self.complete if r.exercise == exercise)

    def summary(self) -> str:
        name = self.exercise or "no exercise"
        return (
            f"{name}: {self.count()} reps, {len(self.partial)} partial, "
            f"{len(self.placement)} placement cues in {self.duration_s:.1f} s "
            f"({self.frames} frames)"
        )

    def to_json(self) -> dict:
        return {
            "exercise": self.exercise,
            "reps": self.count(),
            "partial_reps": len(self.partial),
            "frames": self.frames,
            "duration_s": round(self.duration_s, 3),
            "rep_list": [r.to_json() for r in self.reps],
            "placement": [c.to_json() for c in self.placement],
        }


def count_poses(
    poses: Iterable[Pose], rules: ExerciseRules | None = None, mode: str = "auto"
) -> CountResult:
    tracker = ExerciseTracker(rules or ExerciseRules(), mode)
    reps: list[Rep] = []
    placement: list[Cue] = []
    frames, t0, t1 = 0, None, 0.0
    for pose in poses:
        frames += 1
        t0 = pose.t if t0 is None else t0
        t1 = pose.t
        for event in tracker.update(pose):
            (reps if isinstance(event, Rep) else placement).append(event)
    reps.extend(e for e in tracker.flush() if isinstance(e, Rep))
    result = CountResult(tracker.recognised_exercise(), reps, placement, frames)
    result.duration_s = t1 - (t0 or 0.0)
    return result


def video_poses(
    path: Path,
    pipeline: PosePipeline,
    augment_spec: str | None = None,
    cache: PoseCache | None = None,
) -> Iterable[Pose]:
    """The poses of every frame of the video, as `augment_spec` alters it (augment.py): frame
    transforms before the pipeline, pose transforms (jitter) after it. With a cache, the
    pipeline's poses are read from it when this clip, model, runtime and CPU arithmetic were run
    before (device/pose/cache.py)."""
    frame_spec, pose_transform = augment.split(augment_spec)

    def compute() -> Iterator[Pose]:
        pipeline.reset()
        frames: Iterable[Frame] = iter_video(path)
        if frame_spec != "none":
            frames = augment.parse(frame_spec)(frames)
        return (pipeline.process(frame) for frame in frames)

    poses = compute() if cache is None else cache.poses(path, pipeline, frame_spec, compute)
    return poses if pose_transform is None else pose_transform(poses, path.name)


def count_video(
    path: Path,
    pipeline: PosePipeline,
    rules: ExerciseRules | None = None,
    mode: str = "auto",
    augment_spec: str | None = None,
    cache: PoseCache | None = None,
) -> CountResult:
    """Run the pose pipeline over every frame of the video (or read its poses from the cache)
    and count."""
    return count_poses(video_poses(path, pipeline, augment_spec, cache), rules, mode)
