"""The live pipeline with stand-in pose and exercise stages: events, timing, reconnection,
watchdog pings over a real notify socket."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from device.capture.frame import Captured, Frame
from device.capture.preview import PreviewBuffer
from device.capture.runner import Backoff
from device.daemon.events import EventBus
from device.daemon.live import LivePipeline, Timing
from device.daemon.sdnotify import Notifier
from device.exercise.types import Cue, ExerciseState, Rep
from device.history.store import Store
from device.history.workout import Workout
from device.pose.keypoints import Pose
from tests.waiting import wait_until


class FakePose:
    """Returns an empty pose for each frame; `delay` simulates a slow model."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.backend = {"accelerator": "cpu", "model": "stand-in"}

    def reset(self) -> None:
        pass

    def process(self, frame: Frame) -> Pose:
        time.sleep(self.delay)
        return Pose(np.zeros((17, 3)), 0.9, frame.t, (frame.image.shape[1], frame.image.shape[0]))


class FakeTracker:
    """One complete squat every `every` frames, and a cue halfway through each."""

    def __init__(self, rules=None, mode: str = "auto", every: int = 10) -> None:
        self.rules, self.mode, self.every = rules, mode, every
        self.frames = 0
        self.state = ExerciseState()

    def update(self, pose: Pose) -> list[Rep | Cue]:
        self.frames += 1
        if self.frames % self.every == self.every // 2:
            return [Cue("go_deeper", "Go deeper", pose.t, "squat")]
        if self.frames % self.every:
            return []
        self.state = ExerciseState("squat", self.state.reps + 1, 0, "top")
        return [Rep("squat", True, pose.t - 1, pose.t - 0.5, pose.t, 1.0, 0.5, 0.5)]

    def flush(self) -> list[Rep | Cue]:
        return []


class CountingSource:
    """Frames with growing timestamps at about 200 fps; raises once at `fail_at`."""

    live = True
    description = "counting"

    def __init__(self, counter: list[int], fail_at: int | None = None) -> None:
        self.counter, self.fail_at = counter, fail_at

    def read(self) -> Captured:
        time.sleep(0.005)
        if self.fail_at is not None and self.counter[0] == self.fail_at:
            self.fail_at = None
            raise OSError("camera unplugged")
        index = self.counter[0]
        self.counter[0] += 1
        return Captured(Frame(np.zeros((48, 64, 3), np.uint8), index / 30, index), time.monotonic())

    def close(self) -> None:
        pass


def make_pipeline(tmp_path, open_source, pose=None) -> tuple[LivePipeline, EventBus, Store]:
    bus = EventBus()
    store = Store(tmp_path / "h.sqlite3")
    pipeline = LivePipeline(
        open_source,
        pose or FakePose(),
        FakeTracker(),
        Workout(store, set_idle_s=60),
        bus,
        PreviewBuffer(),
        Backoff(0.05, 0.1),
    )
    return pipeline, bus, store


def test_events_flow_and_reps_are_committed_before_they_are_published(tmp_path):
    counter = [0]
    pipeline, bus, store = make_pipeline(tmp_path, lambda: CountingSource(counter))
    seen = []
    with bus.subscribe() as sub:
        pipeline.start()
        try:
            while len(seen) < 3:
                event = sub.get(5)
                assert event is not None, "no events"
                if event.kind == "rep":
                    # Published only after the commit: the store already has it.
                    assert len(store.reps()) >= event.data["set"]["reps"]
                    seen.append(event)
        finally:
            pipeline.stop()
    assert [e.data["set"]["reps"] for e in seen] == [1, 2, 3]
    # each rep carries its coaching, numbered in its set (these reps have no fault)
    assert [e.data["coaching"] for e in seen] == [
        {"rep": n, "cue": None, "speak": False} for n in (1, 2, 3)
    ]
    status = pipeline.status()
    assert status["camera"]["state"] == "stopped" and status["frames_processed"] >= 30
    assert status["latency_ms"]["p50"] is not None and status["fps"] > 0
    assert bus.latest("cue").data["code"] == "go_deeper"
    assert bus.latest("state").data["reps"] >= 3
    assert bus.latest("pose").data["keypoints"]["nose"] == [0.0, 0.0, 0.0]


def test_a_source_that_raises_mid_stream_is_reopened_and_counting_resumes(tmp_path):
    counter = [0]
    opened = []

    def open_source():
        opened.append(1)
        return CountingSource(counter, fail_at=25 if len(opened) == 1 else None)

    pipeline, _, store = make_pipeline(tmp_path, open_source)
    pipeline.start()
    try:
        assert wait_until(lambda: pipeline.capture.reconnects == 1)
        reps_at_failure = len(store.reps())
        assert wait_until(lambda: len(store.reps()) >= reps_at_failure + 3)
        assert pipeline.capture.state == "ok" and len(opened) == 2
    finally:
        pipeline.stop()


def test_a_slow_model_drops_frames_instead_of_queueing(tmp_path):
    counter = [0]
    pipeline, _, _ = make_pipeline(tmp_path, lambda: CountingSource(counter), FakePose(0.03))
    pipeline.start()
    try:
        assert wait_until(lambda: pipeline.timing.frames >= 20)
    finally:
        pipeline.stop()
    assert pipeline.slot.dropped > 0
    # Latency stays near one model run (30 ms) plus one frame interval, never a backlog.
    assert pipeline.timing.latency_ms()["p99"] < 200


def test_stall_detection(tmp_path):
    pipeline, _, _ = make_pipeline(tmp_path, lambda: CountingSource([0]))
    pipeline.start()
    try:
        assert wait_until(lambda: pipeline.timing.frames > 0)
        assert pipeline.stalled(5.0) is None
        assert "inference" in pipeline.stalled(5.0, now=time.monotonic() + 60)
    finally:
        pipeline.stop()


def test_notifier_speaks_the_systemd_protocol(tmp_path):
    path = str(tmp_path / "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(2)
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "4000000"})
    assert notifier.enabled and notifier.watchdog_s == 4.0
    notifier.ready("serving")
    notifier.watchdog()
    notifier.stopping()
    assert listener.recv(100) == b"READY=1\nSTATUS=serving"
    assert listener.recv(100) == b"WATCHDOG=1"
    assert listener.recv(100) == b"STOPPING=1"
    notifier.close()
    listener.close()
    silent = Notifier({})
    silent.ready("x")  # no socket: nothing happens, nothing fails
    assert not silent.enabled and silent.watchdog_s is None


def test_watchdog_is_for_this_process_only():
    assert Notifier({"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}).watchdog_s is None


def test_events_thread_safety_under_concurrent_readers(tmp_path):
    counter = [0]
    pipeline, bus, _ = make_pipeline(tmp_path, lambda: CountingSource(counter))
    received = [0] * 5
    stop = threading.Event()

    def reader(slot: int) -> None:
        with bus.subscribe({"pose"}) as sub:
            while not stop.is_set():
                if sub.get(0.1) is not None:
                    received[slot] += 1

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    pipeline.start()
    try:
        assert wait_until(lambda: min(received) >= 20)
    finally:
        stop.set()
        pipeline.stop()
        for thread in threads:
            thread.join(2)


def test_low_fps_is_reported_only_when_it_lasts():
    timing = Timing()
    for k in range(40):  # 5 fps for 8 s
        timing.record(100.0 + k * 0.2, 100.0 + k * 0.2)
    now = 100.0 + 39 * 0.2
    assert timing.low_fps(8.0, 5.0, now) == pytest.approx(5.0)
    assert timing.low_fps(4.0, 5.0, now) is None  # fast enough for that threshold
    assert timing.low_fps(8.0, 10.0, now) is None  # not that long yet
    assert timing.low_fps(8.0, 5.0, now + 10.0) is None  # stalled: not a frame rate problem
    fast = Timing()
    for k in range(200):  # 25 fps
        fast.record(k * 0.04, k * 0.04)
    assert fast.low_fps(8.0, 5.0, 199 * 0.04) is None
