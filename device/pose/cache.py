"""Poses of whole clips, kept on disk so that counting rules can be re-run in seconds.

An entry holds every pose the pipeline produced for one clip, and is keyed by everything that
decides those poses: the clip's bytes, the model file's pin, the runtime and its version, the
CPU arithmetic (arithmetic.py), the frame transform of an augmented eval, and the source of the
pose stage itself (so a change to cropping or smoothing never reads stale poses). Entries live in
one folder per arithmetic, so poses computed on other CPUs (an arm64 root file system under
qemu, `make eval-arm64`) sit beside this machine's, and the eval can count them all.

The default folder is $XDG_CACHE_HOME/repcounter/poses (~/.cache/repcounter/poses). Only CPU
runs are cached: an Edge TPU's poses depend on the device and its runtime, not on this CPU.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np

from device.pose import arithmetic
from device.pose.keypoints import Pose
from device.pose.pipeline import PosePipeline

# The modules whose code decides a clip's poses; their bytes are part of every key.
POSE_STAGE_SOURCES = (
    "pose/movenet.py",
    "pose/smoothing.py",
    "pose/pipeline.py",
    "pose/keypoints.py",
    "capture/video_file.py",
    "capture/frame.py",
    "exercise/augment.py",
)
PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "repcounter" / "poses"


@cache
def code_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in POSE_STAGE_SOURCES:
        digest.update(name.encode() + b"\0" + (PACKAGE_ROOT / name).read_bytes())
    return digest.hexdigest()[:16]


@cache
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    """What one cache file says about itself (its .json beside the .npz)."""

    clip: str  # file name
    clip_sha256: str
    code: str  # the pose stage's code fingerprint
    variant: str  # the frame transform ("none" for the clip as recorded)
    model_file: str
    precision: str
    runtime: str  # name and version
    arithmetic: str  # Arithmetic.key
    cpu: str  # Arithmetic.describe()
    frames: int

    def to_json(self) -> dict:
        return self.__dict__.copy()


class PoseCache:
    """Read-through cache of a clip's poses for one pipeline on this machine."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or default_dir()
        self.arithmetic = arithmetic.current()

    def _key(self, clip: Path, pipeline: PosePipeline, variant: str) -> dict:
        backend = pipeline.backend
        return {
            "clip": file_sha256(clip),
            "model": backend.model.sha256 or backend.model.git_blob,
            "runtime": f"{backend.runtime} {runtime_version(backend.runtime)}",
            "arithmetic": self.arithmetic.key,
            "variant": variant,
            "smoothing": pipeline.smoothing,
            "cropping": pipeline.cropping,
            "code": code_fingerprint(),
        }

    def path_for(self, clip: Path, pipeline: PosePipeline, variant: str) -> Path:
        key = json.dumps(self._key(clip, pipeline, variant), sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return self.root / self.arithmetic.short_id / f"{clip.stem}-{digest}.npz"

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
        path = self.path_for(clip, pipeline, variant)
        if path.is_file():
            try:
                return load_poses(path)
            except (OSError, ValueError, KeyError):
                path.unlink(missing_ok=True)  # a damaged entry is computed again
        poses = list(compute())
        backend = pipeline.backend
        entry = Entry(
            clip=clip.name,
            clip_sha256=file_sha256(clip),
            code=code_fingerprint(),
            variant=variant,
            model_file=backend.model.file,
            precision=backend.model.precision,
            runtime=f"{backend.runtime} {runtime_version(backend.runtime)}",
            arithmetic=self.arithmetic.key,
            cpu=self.arithmetic.describe(),
            frames=len(poses),
        )
        store_poses(path, poses, entry)
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
