"""Reading a video file (or a still image) frame by frame, with the file's own timestamps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2

from device.capture.frame import Frame
from device.errors import SourceError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def read_image(path: Path) -> Frame:
    """A still image as a single frame at t = 0."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SourceError(f"cannot read image {path}: is it a PNG, JPEG or BMP file?")
    return Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), 0.0, 0)


def iter_video(path: Path) -> Iterator[Frame]:
    """Every frame of a video file, timed by its frame rate (t = index / fps).

    The frame-rate clock is used rather than the container's per-frame timestamps because
    OpenCV reports those inconsistently across backends; for constant-rate clips they agree.
    """
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SourceError(f"cannot open video {path}: check the path and that it is a video file.")
    fps = capture.get(cv2.CAP_PROP_FPS)
    if not fps or fps != fps or fps <= 0:  # missing or NaN
        fps = 30.0
    try:
        index = 0
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            yield Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), index / fps, index)
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise SourceError(f"video {path} has no readable frames: is the file complete?")


def iter_media(path: Path) -> Iterator[Frame]:
    """Frames of an image or a video file, chosen by the file's suffix."""
    if not path.exists():
        raise SourceError(f"{path} does not exist.")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        yield read_image(path)
    else:
        yield from iter_video(path)
