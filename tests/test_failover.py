"""Run-time failover: an Edge TPU that fails or hangs mid-set hands over to the CPU build at
once, no rep is lost, and it takes over again once it answers.

There is no Coral here, so the "Edge TPU" is the int8 CPU build behind a switch that makes its
calls fail or hang, as an unplugged Coral's do; everything around it is the real code."""

from __future__ import annotations

import csv
import dataclasses
import threading
import time

import numpy as np
import pytest

from device.capture.preview import PreviewBuffer
from device.capture.runner import Backoff
from device.capture.sources import VideoFileSource
from device.daemon.events import EventBus
from device.daemon.live import LivePipeline
from device.exercise.tracker import ExerciseTracker
from device.history.store import Store
from device.history.workout import Workout
from device.models.manifest import MODELS_DIR, load_manifest
from device.pose import runtime
from device.pose.failover import FailoverModel
from device.pose.pipeline import PosePipeline
from tests.waiting import rep_events_of_the_clip

CORAL = ["usb 18d1:9302"]


def int8_entry():
    return next(
        e for e in load_manifest(MODELS_DIR)
        if e.name == "lightning" and e.accelerator == "cpu" and e.precision == "int8"
    )  # fmt: skip


class Plug:
    """The Coral's USB socket: while unplugged, calls of the Edge TPUs opened before fail (or
    hang) and reopening fails; plugged in again, reopening works."""

    def __init__(self, mode: str = "fail") -> None:
        self.mode = mode
        self.present = True
        self.opened: list[FakeEdgeTpu] = []

    def unplug(self) -> None:
        self.present = False

    def devices(self) -> list[str]:
        return CORAL if self.present else []

    def reopen(self) -> FakeEdgeTpu:
        if not self.present:
            raise RuntimeError("no Edge TPU found")
        self.opened.append(FakeEdgeTpu(self))
        return self.opened[-1]


class FakeEdgeTpu:
    """The int8 CPU build dressed as the Edge TPU, working only while its plug is in."""

    def __init__(self, plug: Plug) -> None:
        self.model = runtime.open_entry(int8_entry(), 1)
        self.model.backend = dataclasses.replace(self.model.backend, accelerator="edgetpu")
        self.backend = self.model.backend
        self.input_size = self.model.input_size
        self.plug = plug
        self.calls = 0
        self.dead = False  # an unplugged device stays dead even once the Coral is back

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if not self.plug.present or self.dead:
            self.dead = True
            if self.plug.mode == "hang":
                threading.Event().wait()  # never returns, as a wedged USB transfer
            raise RuntimeError("Failed to invoke: USB transfer error 2 [LibUsbDataOutCallback]")
        self.calls += 1
        return self.model(image)


def failover(plug: Plug) -> FailoverModel:
    cpu = runtime.open_entry(int8_entry(), 1)
    # 2 s instead of 0.5 s for a hung call: this machine's load must not look like a hang.
    return FailoverModel(
        cpu, plug.reopen, plug.reopen(), plug.devices, invoke_timeout=2.0,
        backoff=Backoff(0.05, 0.2),
    )  # fmt: skip


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_a_failing_or_hung_edge_tpu_hands_the_frame_to_the_cpu(mode):
    plug = Plug(mode)
    model = failover(plug)
    image = np.zeros((192, 192, 3), np.uint8)
    expected = model(image)
    assert model.backend.accelerator == "edgetpu"
    plug.unplug()
    start = time.monotonic()
    out = model(image)  # the frame the Edge TPU failed on still gets its keypoints
    switch_s = time.monotonic() - start
    assert switch_s < 5.0
    np.testing.assert_array_equal(out, expected)  # same int8 weights on the CPU
    backend = model.backend
    assert backend.accelerator == "cpu" and backend.fallback.warn
    assert "the Edge TPU failed" in backend.fallback.reason
    assert ("no answer within" if mode == "hang" else "USB transfer error") in (
        backend.fallback.reason
    )
    time.sleep(0.3)
    model(image)  # while no Coral is to be seen, nothing is reopened
    assert len(plug.opened) == 1


def test_the_edge_tpu_takes_over_again_when_it_is_back():
    plug = Plug()
    model = failover(plug)
    image = np.zeros((192, 192, 3), np.uint8)
    plug.unplug()
    model(image)
    assert model.backend.accelerator == "cpu"
    plug.present = True
    deadline = time.monotonic() + 10
    while model.backend.accelerator != "edgetpu" and time.monotonic() < deadline:
        model(image)
        time.sleep(0.02)
    assert model.backend.accelerator == "edgetpu" and model.backend.fallback is None
    calls = plug.opened[-1].calls
    model(image)
    assert len(plug.opened) == 2 and plug.opened[-1].calls == calls + 1  # the reopened one


def truth(shared_data, clip: str) -> tuple[int, int]:
    with (shared_data / "clips" / "truth.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["file"] == clip:
                return int(row["reps"]), int(row["reps_max"])
    raise AssertionError(clip)


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_unplugging_mid_set_loses_no_rep(shared_data, tmp_path, mode):
    """The live pipeline on a real clip; the Coral goes away after 100 frames and comes back
    100 frames later: every rep is counted, and the Edge TPU ends up running again."""
    clip = "darebee_squat.mp4"
    low, high = truth(shared_data, clip)
    plug = Plug(mode)
    model = failover(plug)
    store = Store(tmp_path / "h.sqlite3")
    bus = EventBus()
    source = VideoFileSource(shared_data / "clips" / clip, realtime=False)
    pose = PosePipeline(model)
    accelerators: list[str] = []

    class Watch:
        """The pose stage, noting which accelerator each frame ran on and pulling the plug."""

        def process(self, frame):
            if frame.index == 100:
                plug.unplug()
            if frame.index == 200:
                plug.present = True
            result = pose.process(frame)
            accelerators.append(model.backend.accelerator)
            return result

        def reset(self):
            pose.reset()

    pipeline = LivePipeline(
        lambda: source, Watch(), ExerciseTracker(), Workout(store), bus, PreviewBuffer(),
        Backoff(0.05, 0.1),
    )  # fmt: skip
    events = rep_events_of_the_clip(pipeline, bus, 180)
    assert pipeline.errors == 0
    assert len(accelerators) == pipeline.capture.frames  # every frame got its pose
    assert accelerators[99] == "edgetpu" and accelerators[100] == "cpu"
    assert accelerators[-1] == "edgetpu"  # back once the Coral returned
    complete = [e for e in events if e["complete"]]
    assert low <= len(complete) <= high, events


def test_close_ends_the_edge_tpu_thread():
    """A model change closes the old pipeline's model: its Edge TPU thread must end, or it would
    keep the Coral from the new one."""
    before = set(threading.enumerate())  # earlier tests leave hung "Edge TPU" threads behind
    plug = Plug()
    model = failover(plug)
    image = np.zeros((192, 192, 3), np.uint8)
    model(image)
    threads = {t for t in set(threading.enumerate()) - before if t.name == "edgetpu"}
    assert len(threads) == 1
    model.close()
    for thread in threads:
        thread.join(5)
        assert not thread.is_alive()
    assert model.backend.accelerator == "cpu"
    model(image)  # still answers, on the CPU, and never reopens
    time.sleep(0.3)
    model(image)
    assert len(plug.opened) == 1
