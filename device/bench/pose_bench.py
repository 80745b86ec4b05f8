"""`repcounter bench`: the model alone against the whole pose pipeline and the exercise engine."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import cv2
import numpy as np

from device.capture.frame import Frame
from device.capture.video_file import iter_video
from device.daemon.config import CameraSettings
from device.errors import ModelError
from device.exercise.tracker import ExerciseTracker
from device.models.manifest import MODELS_DIR, available, load_manifest
from device.pose import edgetpu
from device.pose.commands import edgetpu_library_option
from device.pose.movenet import crop_and_resize, full_image_region
from device.pose.pipeline import PosePipeline
from device.pose.runtime import cpu_entry, open_entry

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
BENCH_VIDEO = SHARED_DATA / "clips" / "darebee_squat.mp4"


def register(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser("bench", help="time the model alone and the whole pose pipeline")
    bench.add_argument("--video", type=Path, default=BENCH_VIDEO, help="frames to time on")
    bench.add_argument("--frames", type=int, default=150, help="frames per model (default 150)")
    bench.add_argument("--threads", type=int, default=None, help="CPU threads (default: up to 4)")
    bench.add_argument(
        "--width",
        type=int,
        default=CameraSettings().width,
        help="scale frames to this width, as the camera delivers them (default: the camera "
        "setting's default, %(default)s; 0 = as recorded)",
    )
    bench.add_argument("--passes", type=int, default=3, help="timed passes over the frames")
    edgetpu_library_option(bench)
    bench.set_defaults(run=run_bench)


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = np.array(seconds) * 1000
    return float(np.median(ms)), float(np.percentile(ms, 90))


def bench_model(pipeline: PosePipeline, frames: list[Frame], passes: int = 1) -> dict:
    """Model-only and full-pipeline time per frame, interleaved so machine noise hits both, and
    the time the exercise engine takes for the pose: the frame rate the appliance reaches with
    this model is 1000 / (pipeline + exercise) ms, before capture and the web server's share."""

    size = pipeline.model.input_size
    model_input = crop_and_resize(
        frames[0].image, full_image_region(*frames[0].image.shape[1::-1]), size
    )
    for frame in frames[:10]:  # warm-up: caches, XNNPACK packing, crop settling
        pipeline.model(model_input)
        pipeline.process(frame)
    pipeline.reset()
    tracker = ExerciseTracker()
    model_times, pipeline_times, exercise_times = [], [], []
    for k, frame in enumerate(frames * passes):
        start = time.perf_counter()
        pipeline.model(model_input)
        model_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        pose = pipeline.process(frame)
        pipeline_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        tracker.update(dataclasses.replace(pose, t=k / 30.0))  # passes repeat the frames
        exercise_times.append(time.perf_counter() - start)
    model_median, model_p90 = _percentiles(model_times)
    pipe_median, pipe_p90 = _percentiles(pipeline_times)
    exercise_median, _ = _percentiles(exercise_times)
    return {
        **pipeline.backend.to_json(),
        "model_ms_median": round(model_median, 2),
        "model_ms_p90": round(model_p90, 2),
        "pipeline_ms_median": round(pipe_median, 2),
        "pipeline_ms_p90": round(pipe_p90, 2),
        "ratio_median": round(pipe_median / model_median, 3),
        "exercise_ms_median": round(exercise_median, 2),
        "fps": round(1000.0 / (pipe_median + exercise_median), 1),
    }


def _scaled(frame: Frame, width: int) -> Frame:
    """The frame scaled to `width` pixels wide (aspect kept), or as it is for width 0."""
    height, original = frame.image.shape[:2]
    if width <= 0 or width == original:
        return frame
    size = (width, round(height * width / original))
    return Frame(cv2.resize(frame.image, size, interpolation=cv2.INTER_AREA), frame.t, frame.index)


def run_bench(args: argparse.Namespace) -> int:
    if not args.video.exists():
        raise ModelError(f"bench video {args.video} is missing: pass --video PATH.")
    frames = []
    for frame in iter_video(args.video):
        frames.append(_scaled(frame, args.width))
        if len(frames) >= args.frames:
            break
    height, width = frames[0].image.shape[:2]
    print(
        f"bench: {len(frames)} frames of {args.video.name} at {width}x{height}, {args.passes} "
        "passes; pipeline = crop + resize + model + decode + One Euro smoothing"
    )
    print(
        f"{'model':<10} {'backend':<8} {'file':<48} {'model ms':>16} {'pipeline ms':>16} "
        f"{'ratio':>6}"
    )
    entries = load_manifest(MODELS_DIR)
    for entry in available(entries):
        try:
            if entry.accelerator == "edgetpu":  # loaded here only once its probe has passed
                reference = cpu_entry(entries, entry.name, "auto")
                model = edgetpu.open_edgetpu(
                    entry, reference, args.threads, MODELS_DIR, args.edgetpu_library, None
                )
            else:
                model = open_entry(entry, args.threads)
        except ModelError as exc:
            print(f"{entry.name:<10} {entry.accelerator:<8} {entry.file:<48} skipped: {exc}")
            continue
        r = bench_model(PosePipeline(model), frames, args.passes)
        print(
            f"{entry.name:<10} {r['accelerator']:<8} {r['model_file']:<48} "
            f"{r['model_ms_median']:>7.2f} p90 {r['model_ms_p90']:>5.2f} "
            f"{r['pipeline_ms_median']:>7.2f} p90 {r['pipeline_ms_p90']:>5.2f} "
            f"{r['ratio_median']:>6.3f}",
        )
        print(
            f"{'':<10} whole pipeline: {r['fps']:.1f} fps ({r['pipeline_ms_median']:.2f} ms pose "
            f"+ {r['exercise_ms_median']:.2f} ms counting per frame; capture and the web server "
            "take their share on top)",
            flush=True,
        )
    return 0
