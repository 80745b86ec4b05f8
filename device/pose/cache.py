"""Poses of whole clips, kept on disk so that counting rules can be re-run in seconds.

An entry holds every pose the pipeline produced for one clip, and is keyed by everything that
decides those poses: the clip's bytes, the model file's pin, the runtime and its version, the
CPU arithmetic (arithmetic.py), OpenCV's version (its crop resampling changes in the last grey
level between releases, which moves int8 keypoints by pixels), the frame transform of an
augmented eval, and the source of the pose stage itself (so a change to cropping or smoothing
never reads stale poses). Entries live in one folder per arithmetic, so poses computed on other
CPUs (an arm64 root file system under qemu, `make eval-arm64`) sit beside this machine's, and
the eval can count them all.

The default folder is $XDG_CACHE_HOME/repcounter/poses (~/.cache/repcounter/poses). Only CPU
runs are cached: an Edge TPU's poses depend on the device and its runtime, not on this CPU.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np

from device.models.manifest import sha256_of
from device.pose import arithmetic
from device.pose.keypoints import Pose
from device.pose.pipeline import PosePipeline

# The modules whose code decides a clip's poses; their bytes are part of every key. The frame
# transforms of an augmented eval (exercise/augment.py) count only for a transformed clip.
POSE_STAGE_SOURCES = (
    "pose/movenet.py",
    "pose/smoothing.py",
    "pose/pipeline.py",
    "pose/keypoints.py",
    "capture/video_file.py",
    "capture/frame.py",
)
FRAME_TRANSFORM_SOURCE = "exercise/augment.py"
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "repcounter" / "poses"


@cache
def code_fingerprint(variant: str = "none") -> str:
    digest = hashlib.sha256()
    sources = POSE_STAGE_SOURCES + ((FRAME_TRANSFORM_SOURCE,) if variant != "none" else ())
    for name in sources:
        digest.update(name.encode() + b"\0" + (PACKAGE_ROOT / name).read_bytes())
    return digest.hexdigest()[:16]


@cache
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    return sha256_of(path)  # once per file version (size and mtime are part of the key)


def file_sha256(path: Path) -> str:
    stat = path.stat()
    return _file_sha256(path.resolve(), stat.st_size, stat.st_mtime_ns)


def runtime_version(runtime: str) -> str:
    package = {"ai_edge_litert": "ai-edge-litert", "tflite_runtime": "tflite-runtime"}[runtime]
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Entry:
    """One clip's poses as one pipeline on one arithmetic gave them: the fields of KEY_FIELDS
    decide them (and name the file); the rest describe them. Stored as .json beside the .npz."""

    clip: str  # file name
    clip_sha256: str
    model_pin: str  # the model file's sha256 or git blob id
    model_file: str
    precision: str
    runtime: str  # name and version
    opencv: str  # OpenCV's version
    arithmetic: str  # Arithmetic.key
    variant: str  # the frame transform ("none" for the clip as recorded)
    smoothing: bool
    cropping: bool
    code: str  # code_fingerprint(variant)
    cpu: str  # Arithmetic.describe()
    frames: int = 0

    KEY_FIELDS = (
        "clip_sha256", "model_pin", "runtime", "opencv", "arithmetic", "variant", "smoothing",
        "cropping", "code",
    )  # fmt: skip

    def file_name(self) -> str:
        key = json.dumps({k: getattr(self, k) for k in self.KEY_FIELDS}, sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return f"{Path(self.clip).stem}-{digest}.npz"

    def folder(self) -> str:
        """Entries are kept in one folder per arithmetic."""
        return arithmetic.short_id(self.arithmetic)

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class PoseCache:
    """Read-through cache of a clip's poses for one pipeline on this machine."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or default_dir()
        self.arithmetic = arithmetic.current()

    def entry_for(self, clip: Path, pipeline: PosePipeline, variant: str) -> Entry:
        backend = pipeline.backend
        return Entry(
            clip=clip.name,
            clip_sha256=file_sha256(clip),
            model_pin=backend.model.sha256 or backend.model.git_blob,
            model_file=backend.model.file,
            precision=backend.model.precision,
            runtime=f"{backend.runtime} {runtime_version(backend.runtime)}",
            opencv=cv2.__version__,
            arithmetic=self.arithmetic.key,
            variant=variant,
            smoothing=pipeline.smoothing,
            cropping=pipeline.cropping,
            code=code_fingerprint(variant),
            cpu=self.arithmetic.describe(),
        )

    def path_for(self, clip: Path, pipeline: PosePipeline, variant: str) -> Path:
        entry = self.entry_for(clip, pipeline, variant)
        return self.root / entry.folder() / entry.file_name()

    def poses(
        self,
        clip: Path,
        pipeline: PosePipeline,
        variant: str,
        compute: Callable[[], Iterable[Pose]],
    ) -> list[Pose]:
        """The clip's poses from the cache, else from compute() (then stored)."""
        if pipeline.backend.accelerator != "cpu":
            return list(compute())
        entry = self.entry_for(clip, pipeline, variant)
        path = self.root / entry.folder() / entry.file_name()
        if path.is_file():
            try:
                return load_poses(path)
            except (OSError, ValueError, KeyError):
                path.unlink(missing_ok=True)  # a damaged entry is computed again
        poses = list(compute())
        store_poses(path, poses, dataclasses.replace(entry, frames=len(poses)))
        return poses


def store_poses(path: Path, poses: list[Pose], entry: Entry) -> None:
    """Write the .npz and its .json atomically (a killed run leaves no half entry)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    keypoints = np.array([p.keypoints for p in poses], dtype=np.float64).reshape(-1, 17, 3)
    scores = np.array([p.score for p in poses], dtype=np.float64)
    times = np.array([p.t for p in poses], dtype=np.float64)
    sizes = np.array([p.image_size for p in poses], dtype=np.int64).reshape(-1, 2)
    for suffix, write in (
        (".json", lambda f: f.write(json.dumps(entry.to_json(), indent=1).encode())),
        (".npz", lambda f: np.savez_compressed(f, k=keypoints, s=scores, t=times, size=sizes)),
    ):
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
            os.replace(tmp, path.with_suffix(suffix))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def load_poses(path: Path) -> list[Pose]:
    with np.load(path) as data:
        keypoints, scores, times, sizes = data["k"], data["s"], data["t"], data["size"]
    return [
        Pose(keypoints[i].copy(), float(scores[i]), float(times[i]), (int(w), int(h)))
        for i, (w, h) in enumerate(sizes)
    ]


def load_entry(path: Path) -> Entry:
    """The description of the .npz at path (from its .json)."""
    return Entry(**json.loads(path.with_suffix(".json").read_text()))
