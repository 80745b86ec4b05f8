"""Frame sources, the latest-frame-wins handoff and the capture loop's reconnection."""

from __future__ import annotations

import sys
import threading
import time
import types

import cv2
import numpy as np
import pytest

from device.capture import picamera
from device.capture.frame import Captured, Frame
from device.capture.handoff import LatestSlot
from device.capture.preview import PreviewBuffer
from device.capture.runner import Backoff, CaptureLoop
from device.capture.source import CaptureOptions, SourceEnded, SourceMissing
from device.capture.sources import (
    OpenCVCamera,
    SourceSpec,
    VideoFileSource,
    open_source,
    parse_source,
)
from device.errors import SourceError
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """A 10-frame 20 fps clip whose frames carry their index as brightness."""
    path = tmp_path_factory.mktemp("video") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (64, 48))
    for i in range(10):
        writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    writer.release()
    return path


def item(index: int) -> Captured:
    return Captured(Frame(np.zeros((4, 4, 3), np.uint8), index / 30, index), time.monotonic())


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("auto", SourceSpec("auto")),
        ("picamera", SourceSpec("picamera", 0)),
        ("picamera:1", SourceSpec("picamera", 1)),
        ("2", SourceSpec("webcam", 2)),
        ("webcam", SourceSpec("webcam", 0)),
        ("/dev/video4", SourceSpec("webcam", "/dev/video4")),
        ("rtsp://cam.lan/stream", SourceSpec("stream", "rtsp://cam.lan/stream")),
        ("clips/a.mp4", SourceSpec("file", "clips/a.mp4")),
    ],
)
def test_parse_source(text, spec):
    assert parse_source(text) == spec


def test_video_file_fast_then_end(video):
    source = VideoFileSource(video, realtime=False)
    frames = [source.read() for _ in range(10)]
    assert [f.frame.index for f in frames] == list(range(10))
    assert frames[3].frame.t == pytest.approx(3 / 20)
    assert frames[3].frame.image.shape == (48, 64, 3)
    with pytest.raises(SourceEnded):
        source.read()
    source.close()


def test_video_file_loop_keeps_time_growing(video):
    source = VideoFileSource(video, realtime=False, loop=True)
    times = [source.read().frame.t for _ in range(25)]
    assert times == sorted(times) and times[24] == pytest.approx(24 / 20)


def test_video_file_realtime_paces_by_frame_rate(video):
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    source = VideoFileSource(video, realtime=True, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        source.read()
    assert now[0] == pytest.approx(100.0 + 4 / 20)
    assert source.live


def test_missing_sources_say_so(tmp_path):
    with pytest.raises(SourceMissing):
        VideoFileSource(tmp_path / "nope.mp4")
    with pytest.raises(SourceMissing):
        OpenCVCamera("/dev/video99", CaptureOptions())
    with pytest.raises(SourceMissing):
        open_source(SourceSpec("picamera", 0), CaptureOptions())  # no picamera2 here


def test_a_file_that_is_not_a_video_says_what_is_wrong(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    empty = tmp_path / "empty.mp4"
    empty.touch()
    for path, message in ((text, "not a video file"), (tmp_path, "a folder")):
        with pytest.raises(SourceError, match=message) as raised:
            VideoFileSource(path)
        assert not isinstance(raised.value, SourceMissing)
    with pytest.raises(SourceError, match=r"not a video file|no readable frames"):
        VideoFileSource(empty, realtime=False).read()


def test_auto_without_any_camera_is_missing(monkeypatch):
    monkeypatch.setattr("device.capture.sources.webcam_devices", lambda: [])
    monkeypatch.setattr(picamera, "camera_count", lambda: 0)
    with pytest.raises(SourceMissing, match="no camera found"):
        open_source(SourceSpec("auto"), CaptureOptions())


def test_slot_keeps_only_the_newest():
    slot: LatestSlot[Captured] = LatestSlot()
    for i in range(5):
        slot.put(item(i))
    assert slot.take(0.1).frame.index == 4 and slot.dropped == 4
    assert slot.take(0.01) is None


def test_slot_put_when_empty_waits_for_the_consumer():
    slot: LatestSlot[Captured] = LatestSlot()
    assert slot.put_when_empty(item(0), 0.1)
    assert not slot.put_when_empty(item(1), 0.05)  # still full: nothing replaced
    threading.Timer(0.05, lambda: slot.take(1)).start()
    assert slot.put_when_empty(item(2), 2.0)
    assert slot.take(0.1).frame.index == 2 and slot.dropped == 0


class FlakySource:
    """Delivers frames, raising once after `fail_at` frames (a camera glitch)."""

    live = True
    description = "flaky"

    def __init__(self, counter: list[int], fail_at: int | None) -> None:
        self.counter, self.fail_at = counter, fail_at

    def read(self) -> Captured:
        time.sleep(0.002)
        if self.fail_at is not None and self.counter[0] == self.fail_at:
            self.fail_at = None
            raise OSError("USB glitch")
        self.counter[0] += 1
        return item(self.counter[0])

    def close(self) -> None:
        pass


def test_capture_loop_reconnects_after_a_failure():
    counter = [0]
    opened = []

    def open_flaky():
        opened.append(1)
        return FlakySource(counter, fail_at=20 if len(opened) == 1 else None)

    slot: LatestSlot[Captured] = LatestSlot()
    loop = CaptureLoop(open_flaky, slot, Backoff(0.05, 0.1))
    loop.start()
    try:
        assert wait_until(lambda: loop.reconnects == 1)
        assert wait_until(lambda: loop.state == "ok" and counter[0] > 40)
        assert len(opened) == 2 and loop.error is None
    finally:
        loop.stop()
    assert loop.state == "stopped"


def test_capture_loop_reports_missing_until_the_camera_appears():
    attempts = []

    def open_late():
        attempts.append(1)
        if len(attempts) < 3:
            raise SourceMissing("/dev/video0 does not exist")
        return FlakySource([0], None)

    loop = CaptureLoop(open_late, LatestSlot(), Backoff(0.05, 0.1))
    loop.start()
    try:
        assert wait_until(lambda: loop.state == "missing")
        assert "does not exist" in loop.error
        assert wait_until(lambda: loop.state == "ok")
    finally:
        loop.stop()


def test_capture_loop_ends_with_the_file(video):
    slot: LatestSlot[Captured] = LatestSlot()
    loop = CaptureLoop(lambda: VideoFileSource(video, realtime=False), slot, Backoff(0.05, 0.1))
    loop.start()
    taken = []
    deadline = time.monotonic() + 5
    while not loop.finished and time.monotonic() < deadline:
        got = slot.take(0.05)
        if got is not None:
            taken.append(got)
    if (last := slot.take(0.05)) is not None:
        taken.append(last)
    assert loop.state == "ended" and loop.frames == 10
    assert [c.frame.index for c in taken] == list(range(10))  # fast files drop nothing


def test_preview_encodes_once_per_frame():
    preview = PreviewBuffer(32, 24, quality=80)
    image = np.zeros((96, 128, 3), np.uint8)
    preview.update(Captured(Frame(image, 0.0, 7), 0.0))
    index, jpeg = preview.wait_jpeg(-1, 0.1)
    assert index == 7 and jpeg[:2] == b"\xff\xd8"
    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (24, 32, 3)
    assert preview.wait_jpeg(-1, 0.1)[1] is jpeg  # cached for the next client
    assert preview.wait_jpeg(7, 0.05) is None  # nothing newer


def test_preview_from_yuv420_lores():
    preview = PreviewBuffer(64, 48)
    lores = np.full((48 * 3 // 2, 64), 128, np.uint8)
    preview.update(Captured(Frame(np.zeros((4, 4, 3), np.uint8), 0.0, 1), 0.0, lores, "yuv420"))
    _, jpeg = preview.wait_jpeg(-1, 0.1)
    assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (48, 64, 3)


def test_picamera_source_with_a_stand_in_library(monkeypatch):
    """The calls picamera2 documents: video configuration with RGB main and YUV420 lores,
    capture_arrays with a wait, stop and close."""
    calls = []

    class StandIn:
        @staticmethod
        def global_camera_info():
            return [{"Model": "imx708"}]

        def __init__(self, number):
            calls.append(("open", number))

        def create_video_configuration(self, **kwargs):
            calls.append(("config", kwargs["main"], kwargs["lores"]))
            return kwargs

        def configure(self, config):
            pass

        def start(self):
            calls.append(("start",))

        def capture_arrays(self, names, wait=None):
            calls.append(("capture", tuple(names), wait))
            if wait is None:
                raise AssertionError("capture without wait can hang forever")
            if len([c for c in calls if c[0] == "capture"]) > 1:
                raise TimeoutError
            return [np.zeros((480, 640, 3), np.uint8), np.zeros((360, 320), np.uint8)], {}

        def stop(self):
            calls.append(("stop",))

        def close(self):
            calls.append(("close",))

    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=StandIn))
    source = open_source(SourceSpec("auto"), CaptureOptions())
    got = source.read()
    assert got.frame.image.shape == (480, 640, 3) and got.preview_format == "yuv420"
    assert got.preview.shape == (360, 320)
    with pytest.raises(SourceError, match="gave no frame"):
        source.read()
    source.close()
    assert calls[1] == (
        "config",
        {"size": (640, 480), "format": "BGR888"},
        {"size": (320, 240), "format": "YUV420"},
    )
    assert ("capture", ("main", "lores"), picamera.CAPTURE_WAIT_S) in calls
    assert calls[-2:] == [("stop",), ("close",)]
