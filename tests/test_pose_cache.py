"""The pose cache (device/pose/cache.py) and the CPU arithmetic that keys it (arithmetic.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from device.cli import main
from device.exercise.counting import count_video, video_poses
from device.exercise.rules import ExerciseRules
from device.pose import arithmetic
from device.pose.cache import PoseCache, load_entry, load_poses, store_poses
from device.pose.pipeline import PosePipeline


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A short real video: a bright figure-like blob moving over 12 frames."""
    path = tmp_path_factory.mktemp("clip") / "moving.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    for i in range(12):
        frame = np.full((120, 160, 3), 40, np.uint8)
        cv2.rectangle(frame, (60 + i, 20), (90 + i, 110), (200, 180, 160), -1)
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="module")
def pipeline() -> PosePipeline:
    return PosePipeline.create("lightning", "cpu", threads=2, precision="float16")


def counting(pipeline: PosePipeline) -> tuple[PosePipeline, list[int]]:
    """The pipeline with its frames counted, to see whether the model ran."""
    calls: list[int] = []
    process = pipeline.process

    def counted(frame):
        calls.append(frame.index)
        return process(frame)

    pipeline.process = counted  # type: ignore[method-assign]
    return pipeline, calls


def same_poses(a, b) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(p.keypoints, q.keypoints)
        and (p.score, p.t, p.image_size) == (q.score, q.t, q.image_size)
        for p, q in zip(a, b, strict=True)
    )


def test_second_read_comes_from_disk_and_is_identical(clip, pipeline, tmp_path):
    cache = PoseCache(tmp_path)
    direct = list(video_poses(clip, pipeline))
    counted, calls = counting(PosePipeline(pipeline.model))
    first = list(video_poses(clip, counted, cache=cache))
    assert len(calls) == 12 and same_poses(first, direct)
    second = list(video_poses(clip, counted, cache=cache))
    assert len(calls) == 12, "the second read ran the model again"
    assert same_poses(second, direct)
    (entry_path,) = tmp_path.glob("*/*.npz")
    entry = load_entry(entry_path)
    assert entry.clip == "moving.avi" and entry.frames == 12 and entry.precision == "float16"
    assert entry.arithmetic == arithmetic.current().key
    assert entry_path.parent.name == arithmetic.current().short_id


def test_each_variant_and_model_has_its_own_entry(clip, pipeline, tmp_path):
    cache = PoseCache(tmp_path)
    list(video_poses(clip, pipeline, cache=cache))
    halved = list(video_poses(clip, pipeline, "half_fps", cache=cache))
    assert len(halved) == 6
    int8 = PosePipeline.create("lightning", "cpu", threads=2, precision="int8")
    list(video_poses(clip, int8, cache=cache))
    assert len(list(tmp_path.glob("*/*.npz"))) == 3
    # A pose transform acts after the cache: it adds no entry.
    list(video_poses(clip, pipeline, "half_fps+jitter", cache=cache))
    assert len(list(tmp_path.glob("*/*.npz"))) == 3


def test_a_damaged_entry_is_computed_again(clip, pipeline, tmp_path):
    cache = PoseCache(tmp_path)
    direct = list(video_poses(clip, pipeline, cache=cache))
    (entry_path,) = tmp_path.glob("*/*.npz")
    entry_path.write_bytes(b"not an npz")
    assert same_poses(list(video_poses(clip, pipeline, cache=cache)), direct)


def test_a_changed_clip_is_not_read_from_the_cache(clip, pipeline, tmp_path):
    copy = tmp_path / "clip.avi"
    copy.write_bytes(clip.read_bytes())
    cache = PoseCache(tmp_path / "cache")
    list(video_poses(copy, pipeline, cache=cache))
    first = cache.path_for(copy, pipeline, "none")
    copy.write_bytes(clip.read_bytes() + b"\0")
    assert cache.path_for(copy, pipeline, "none") != first


def test_counting_from_the_cache_equals_counting_live(shared_data, tmp_path):
    """A real clip: the counts, times and cues are the same from cached poses."""
    clip = shared_data / "clips" / "calimiro_squat_13.mp4"
    pipeline, rules = PosePipeline.create(threads=2), ExerciseRules()
    live = count_video(clip, pipeline, rules)
    cache = PoseCache(tmp_path)
    count_video(clip, pipeline, rules, cache=cache)
    cached = count_video(clip, pipeline, rules, cache=cache)
    assert cached.to_json() == live.to_json()
    assert live.count() >= 1


def test_arithmetic_is_named_by_the_features_that_pick_kernels(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: Some CPU\nflags\t\t: fpu sse4_1 avx avx2 fma\n")
    monkeypatch.setattr(arithmetic.platform, "machine", lambda: "x86_64")
    avx2 = arithmetic.current(cpuinfo)
    assert avx2.features == ("sse4_1", "avx", "fma", "avx2")
    assert avx2.describe() == "x86_64 Some CPU [avx2]"
    cpuinfo.write_text("model name\t: Other CPU\nflags\t\t: sse4_1 avx avx2 fma\n")
    assert arithmetic.current(cpuinfo).key == avx2.key  # the name does not change kernels
    cpuinfo.write_text("model name\t: Some CPU\nflags\t\t: sse4_1 avx avx2 fma avx512_vnni\n")
    assert arithmetic.current(cpuinfo).key != avx2.key


def test_a_pi_core_is_named_from_its_cpu_part(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nFeatures\t: fp asimd\nCPU part\t: 0xd08\n")
    monkeypatch.setattr(arithmetic.platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(arithmetic, "_arm_features", lambda: ())
    pi4 = arithmetic.current(cpuinfo)
    assert pi4.cpu == "Cortex-A72 (Pi 4)"
    cpuinfo.write_text("processor\t: 0\nFeatures\t: fp asimd\nCPU part\t: 0xd0b\n")
    assert arithmetic.current(cpuinfo).key != pi4.key


def test_eval_matrix_counts_every_cached_arithmetic(shared_data, tmp_path, capsys):
    """Two builds' poses of one clip in a cache, and a second arithmetic faked by copying one
    build's entries to another folder: eval-matrix has a column for each, and compares them."""
    clips = shared_data / "clips"
    name = "calimiro_squat_13.mp4"
    header, *rows = (clips / "truth.tsv").read_text().splitlines()
    (tmp_path / "truth.tsv").write_text(
        "\n".join([header, *[r for r in rows if r.startswith(name + "\t")]]) + "\n"
    )
    (tmp_path / name).symlink_to(clips / name)
    cache = PoseCache(tmp_path / "cache")
    rules = ExerciseRules()
    for precision in ("int8", "float16"):
        pipeline = PosePipeline.create("lightning", "cpu", threads=2, precision=precision)
        count_video(tmp_path / name, pipeline, rules, cache=cache)
    # Another CPU: the same poses, moved by a pixel, under another arithmetic's folder and key.
    other = tmp_path / "cache" / "other-0000000000"
    other.mkdir()
    for npz in (tmp_path / "cache" / arithmetic.current().short_id).glob("*.npz"):
        entry = load_entry(npz)
        if entry.precision != "int8":
            continue
        poses = load_poses(npz)
        for pose in poses:
            pose.keypoints[:, 0] += 1.0
        store_poses(
            other / npz.name,
            poses,
            dataclasses.replace(entry, arithmetic="other:Other CPU:", cpu="Other CPU"),
        )
    argv = ["eval-matrix", "--truth", str(tmp_path / "truth.tsv"), "--labels", str(tmp_path / "x")]
    assert main([*argv, "--cache-dir", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    assert out.count("\nc") >= 3 and "Other CPU, OpenCV" in out and "clips: exact" in out
    names = [line for line in out.splitlines() if line.startswith("c") and ": " in line[:4]]
    cells = next(line for line in out.splitlines() if line.startswith("clips: exact")).split()[2:]
    assert len(names) == len(cells) == 3 and all(c.endswith("%") for c in cells)
    # The copy moved sideways by a pixel counts as the build it was copied from.
    here = arithmetic.current().describe()
    copied = next(i for i, n in enumerate(names) if "Other CPU," in n and ": int8 " in n)
    int8 = next(i for i, n in enumerate(names) if here in n and ": int8 " in n)
    assert cells[copied] == cells[int8]
    movement = out[out.index("keypoint movement") :]
    assert "int8:" in movement and "distance median   1.00 px" in movement
