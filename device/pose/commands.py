"""`repcounter pose` (keypoints of an image or video) and `repcounter bench` (model vs pipeline)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from device import jsonout
from device.capture.frame import Frame
from device.capture.video_file import IMAGE_SUFFIXES, iter_media, iter_video
from device.daemon.config import CameraSettings
from device.errors import ModelError
from device.exercise.tracker import ExerciseTracker
from device.models.manifest import MODELS_DIR, available, load_manifest
from device.pose import edgetpu
from device.pose.keypoints import KEYPOINT_NAMES, Pose
from device.pose.movenet import crop_and_resize, full_image_region
from device.pose.pipeline import PosePipeline
from device.pose.runtime import ACCELERATORS, EDGETPU_LIBRARY, PRECISIONS, cpu_entry, open_entry

# A still image has no previous frame to crop from: run it this many times so the crop settles,
# as TensorFlow's own MoveNet tests do, and report the last result.
STILL_IMAGE_RUNS = 4
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
BENCH_VIDEO = SHARED_DATA / "clips" / "darebee_squat.mp4"


def register(commands: argparse._SubParsersAction) -> None:
    pose = commands.add_parser(
        "pose", help="print the keypoints of every frame of an image or video"
    )
    pose.add_argument("media", type=Path, help="an image (png, jpg, bmp) or a video file")
    model_options(pose)
    pose.add_argument("--no-smoothing", action="store_true", help="raw keypoints, no One Euro")
    pose.add_argument("--json", action="store_true", help="one JSON object per frame")
    pose.set_defaults(run=run_pose)

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


def precision_list(text: str) -> list[str]:
    """--precision of eval: one precision or several, comma-separated."""
    values = [v.strip() for v in text.split(",") if v.strip()]
    wrong = [v for v in values if v not in PRECISIONS]
    if wrong or not values:
        raise argparse.ArgumentTypeError(
            f"{', '.join(wrong) or 'nothing'}: choose from {', '.join(PRECISIONS)}"
        )
    return values


def model_options(parser: argparse.ArgumentParser, several_precisions: bool = False) -> None:
    """--model, --accelerator, --precision, --threads and --edgetpu-library."""
    parser.add_argument("--model", default="lightning", help="lightning (default) or thunder")
    parser.add_argument("--accelerator", default="auto", choices=ACCELERATORS)
    help_text = "CPU build: auto (int8 when present, default), int8 or float16"
    if several_precisions:
        parser.add_argument(
            "--precision",
            default=["auto"],
            type=precision_list,
            metavar="P[,P...]",
            help=help_text + "; several, comma-separated, are evaluated one after the other",
        )
    else:
        parser.add_argument("--precision", default="auto", choices=PRECISIONS, help=help_text)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: up to 4)")
    edgetpu_library_option(parser)


def edgetpu_library_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--edgetpu-library",
        metavar="PATH",
        default=EDGETPU_LIBRARY,
        help=f"the Edge TPU runtime library (default {EDGETPU_LIBRARY})",
    )


def pipeline_from_args(
    args: argparse.Namespace, smoothing: bool = True, precision: str | None = None
) -> PosePipeline:
    """The pose pipeline the model options ask for (no probe cache: each command probes)."""
    return PosePipeline.create(
        args.model,
        args.accelerator,
        args.threads,
        smoothing,
        precision=precision or args.precision,
        edgetpu_library=args.edgetpu_library,
    )


def _print_pose(index: int, pose: Pose, as_json: bool) -> None:
    if as_json:
        print(jsonout.dumps({"frame": index, **pose.to_json()}), flush=True)
        return
    points = " ".join(
        f"{name}=({x:.0f},{y:.0f},{s:.2f})"
        for name, (x, y, s) in zip(KEYPOINT_NAMES, pose.keypoints, strict=True)
    )
    print(f"frame {index} t={pose.t:.3f}s score={pose.score:.2f} {points}", flush=True)


def run_pose(args: argparse.Namespace) -> int:
    still = args.media.suffix.lower() in IMAGE_SUFFIXES
    # A still has no time axis, so smoothing has nothing to smooth: it would only hold the
    # first (uncropped) result while the crop settles.
    smoothing = not (args.no_smoothing or still)
    pipeline = pipeline_from_args(args, smoothing)
    backend = pipeline.backend
    print(
        f"repcounter: {backend.model.name} on {backend.accelerator} ({backend.model.file}, "
        f"{backend.runtime}, {backend.threads} threads)",
        file=sys.stderr,
    )
    runs = STILL_IMAGE_RUNS if still else 1
    for frame in iter_media(args.media):
        for _ in range(runs):
            pose = pipeline.process(frame)
        _print_pose(frame.index, pose, args.json)
    return 0


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
