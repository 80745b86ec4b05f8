"""Frame sources: which one a `source` setting names, and the OpenCV ones (webcam, file, stream).

A source is opened by `open_source` and then read frame by frame; `read` raises SourceEnded at
the end of a video file and SourceError (or anything else) when the device fails, after which
the capture loop closes it and opens it again with backoff. SourceMissing means the device is
not there at all (unplugged, no camera attached).
"""

from __future__ import annotations

import glob
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2

from device.capture.frame import Captured, Frame
from device.capture.source import CaptureOptions, FrameSource, SourceEnded, SourceMissing
from device.errors import SourceError

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
STREAM_TIMEOUT_MS = 5000
DECODER_THREADS = 1


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # "auto", "picamera", "webcam", "stream" or "file"
    target: str | int = 0  # camera number, /dev/video path, URL or file path

    def __str__(self) -> str:
        return self.kind if self.kind == "auto" else f"{self.kind}:{self.target}"


def parse_source(text: str) -> SourceSpec:
    """auto | picamera[:N] | webcam[:N] | N | /dev/videoN | rtsp://... | a video file path."""
    text = text.strip()
    lowered = text.lower()
    if lowered == "auto":
        return SourceSpec("auto")
    match = re.fullmatch(r"(picamera|webcam)(?::(\d+))?", lowered)
    if match:
        return SourceSpec(match[1], int(match[2] or 0))
    if text.isdigit():
        return SourceSpec("webcam", int(text))
    if re.fullmatch(r"/dev/video\d+", text):
        return SourceSpec("webcam", text)
    if lowered.startswith(STREAM_SCHEMES):
        return SourceSpec("stream", text)
    return SourceSpec("file", str(Path(text).expanduser()))


def open_source(spec: SourceSpec, options: CaptureOptions) -> FrameSource:
    """Open the source a spec names (for auto: the Pi camera, else the first USB webcam)."""
    if spec.kind == "file":
        return VideoFileSource(
            Path(str(spec.target)), options.file_pace == "realtime", options.file_loop
        )
    if spec.kind == "stream":
        return OpenCVCamera(str(spec.target), options, stream=True)
    if spec.kind == "webcam":
        return OpenCVCamera(spec.target, options)
    from device.capture import picamera  # imports picamera2 lazily: only the Pi has it

    if spec.kind == "picamera":
        return picamera.PiCameraSource(int(spec.target), options)
    if picamera.camera_count() > 0:
        return picamera.PiCameraSource(0, options)
    for device in webcam_devices():
        try:
            return OpenCVCamera(device, options)
        except SourceError:
            continue
    raise SourceMissing("no camera found: connect the Pi camera or a USB webcam")


def webcam_devices() -> list[str]:
    """/dev/video* nodes in number order (a Pi's codec and ISP nodes fail to open as webcams)."""
    return sorted(glob.glob("/dev/video*"), key=lambda p: int(re.sub(r"\D", "", p) or 0))


def _rgb_frame(bgr, t: float, index: int) -> Captured:
    return Captured(Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), t, index), time.monotonic())


class OpenCVCamera:
    """A USB webcam (V4L2) or a network stream (FFmpeg), read continuously."""

    live = True

    def __init__(self, target: int | str, options: CaptureOptions, stream: bool = False) -> None:
        self.description = f"stream {target}" if stream else f"webcam {target}"
        if stream:
            self._capture = cv2.VideoCapture(
                str(target),
                cv2.CAP_FFMPEG,
                [
                    cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                    STREAM_TIMEOUT_MS,
                    cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                    STREAM_TIMEOUT_MS,
                ],
            )
        else:
            if isinstance(target, str) and not Path(target).exists():
                raise SourceMissing(f"{target} does not exist: is the webcam plugged in?")
            if isinstance(target, int) and not Path(f"/dev/video{target}").exists():
                raise SourceMissing(f"/dev/video{target} does not exist: is the webcam plugged in?")
            self._capture = cv2.VideoCapture(target, cv2.CAP_V4L2)
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, options.width)
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, options.height)
            self._capture.set(cv2.CAP_PROP_FPS, options.fps)
        if not self._capture.isOpened():
            self._capture.release()
            raise SourceError(f"cannot open {self.description}")
        self._index = 0
        if not stream:  # a Pi's codec/ISP nodes open but deliver nothing: check one frame
            self.read()

    def read(self) -> Captured:
        ok, bgr = self._capture.read()
        if not ok:
            raise SourceError(f"{self.description} stopped delivering frames")
        item = _rgb_frame(bgr, time.monotonic(), self._index)
        self._index += 1
        return item

    def close(self) -> None:
        self._capture.release()


def check_video_file(path: Path) -> None:
    """SourceMissing when nothing is at path; SourceError for a folder or an unreadable file
    (so the phone tells "does not exist" apart from "cannot be read" and "not a video")."""
    if not path.exists():
        raise SourceMissing(f"video file {path} does not exist")
    if not path.is_file():
        raise SourceError(f"{path} is a folder or a device, not a video file")
    try:
        path.open("rb").close()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from exc


class VideoFileSource:
    """A video file, played in real time (paced by its frame rate) or as fast as it is read.

    Timestamps are the file's (index / fps); when looping they keep growing across loops so the
    pose clock never jumps back.
    """

    def __init__(
        self,
        path: Path,
        realtime: bool = True,
        loop: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        check_video_file(path)
        # One decoder thread: FFmpeg's frame threading holds a frame pool per thread (about
        # 30 MB more resident memory for a 720p clip) for the same CPU time per frame.
        self._capture = cv2.VideoCapture(
            str(path), cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, DECODER_THREADS]
        )
        if not self._capture.isOpened():
            raise SourceError(f"{path} is not a video file OpenCV can read: pick a video file")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and fps == fps and fps > 0 else 30.0
        self.description = f"file {path}"
        self.live = realtime
        self.loop = loop
        self._clock = clock
        self._sleep = sleep
        self._index = 0  # frames delivered in all loops
        self._in_loop = 0  # frames delivered in this pass
        self._start: float | None = None

    def read(self) -> Captured:
        ok, bgr = self._capture.read()
        if not ok:
            if self._index == 0:
                raise SourceError(f"{self.description} has no readable frames: is it a video file?")
            if not (self.loop and self._in_loop > 0):
                raise SourceEnded(f"{self.description} ended after {self._index} frames")
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._in_loop = 0
            ok, bgr = self._capture.read()
            if not ok:
                raise SourceError(f"{self.description} cannot be rewound")
        t = self._index / self.fps
        if self.live:
            if self._start is None:
                self._start = self._clock()
            delay = self._start + t - self._clock()
            if delay > 0:
                self._sleep(delay)
        item = _rgb_frame(bgr, t, self._index)
        self._index += 1
        self._in_loop += 1
        return item

    def close(self) -> None:
        self._capture.release()
