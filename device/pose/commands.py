"""`repcounter pose`: the keypoints of an image or video; the model options other commands use."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from device import jsonout
from device.capture.video_file import IMAGE_SUFFIXES, iter_media
from device.pose.keypoints import KEYPOINT_NAMES, Pose
from device.pose.pipeline import PosePipeline
from device.pose.runtime import ACCELERATORS, EDGETPU_LIBRARY, PRECISIONS

# A still image has no previous frame to crop from: run it this many times so the crop settles,
# as TensorFlow's own MoveNet tests do, and report the last result.
STILL_IMAGE_RUNS = 4


def register(commands: argparse._SubParsersAction) -> None:
    pose = commands.add_parser(
        "pose", help="print the keypoints of every frame of an image or video"
    )
    pose.add_argument("media", type=Path, help="an image (png, jpg, bmp) or a video file")
    model_options(pose)
    pose.add_argument("--no-smoothing", action="store_true", help="raw keypoints, no One Euro")
    pose.add_argument("--json", action="store_true", help="one JSON object per frame")
    pose.set_defaults(run=run_pose)


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
