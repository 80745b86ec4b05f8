"""The live pipeline: a capture thread and an inference thread joined by a latest-frame-wins slot.

The inference thread runs pose -> exercise -> workout -> training for the newest frame and
publishes the results as events; at each set's end, also a "record" event per personal record
it set. While the history is writable a rep event is published only after the rep is committed
("saved": true), so every rep a client has seen survives a crash. When the store fails (disk
full, read-only, I/O error) the rep is published at once with "saved": false and waits in
memory until it can be written (device/history/rep_writer.py): a full disk must not stop the
count on the phone, and health reports the waiting reps. Per-frame timing gives the processed
frame rate and the capture-to-event latency. Training (device/daemon/training.py) ends a set
that reaches its target, times the rest and gives its cues as `cue` events with "training":
true; its state rides in every state event. Each rep event carries "coaching": the one form cue
the phone shows for that rep and whether to say it (device/exercise/coaching.py).

The live page's controls act here, under the frame lock: -1/+1 on the open set (stored as a
correction of the set when it ends), end the set now, pause counting (frames still reach the
preview; the exercise engine and the set's idle clock stand still) and the rest's skip / +30 s.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from device.capture.frame import Captured, Frame
from device.capture.handoff import LatestSlot
from device.capture.preview import PreviewBuffer
from device.capture.runner import Backoff, CaptureLoop
from device.capture.source import FrameSource
from device.daemon.events import EventBus
from device.daemon.training import Trainee, Training, TrainingCue
from device.exercise.coaching import CuePolicy
from device.exercise.types import Cue, Rep
from device.history.store import CorrectionInvalid, StoreError
from device.history.workout import OpenSet, Workout
from device.pose.keypoints import Pose

log = logging.getLogger(__name__)


class PoseStage(Protocol):
    def process(self, frame: Frame) -> Pose: ...

    def reset(self) -> None: ...


class Tracker(Protocol):
    rules: Any

    def update(self, pose: Pose) -> list[Rep | Cue]: ...

    def flush(self) -> list[Rep | Cue]: ...

    @property
    def state(self) -> Any: ...


ADJUST_REASON = "-1/+1 on the live page"


class ControlRefused(Exception):
    """A live control that cannot act now (no set is going, no rest to skip): why."""


class Timing:
    """Rolling frame rate (last few seconds) and latency percentiles (last `size` frames)."""

    def __init__(self, size: int = 600, window_s: float = 3.0) -> None:
        self._done: deque[float] = deque(maxlen=size)
        self._latency: deque[float] = deque(maxlen=size)
        self.window_s = window_s
        self.frames = 0
        self._lock = threading.Lock()

    def record(self, t_captured: float, t_done: float) -> None:
        with self._lock:
            self._done.append(t_done)
            self._latency.append(t_done - t_captured)
            self.frames += 1

    def fps(self, now: float | None = None, window_s: float | None = None) -> float:
        """Frames processed per second over the last window_s (default self.window_s)."""
        now = time.monotonic() if now is None else now
        window_s = self.window_s if window_s is None else window_s
        with self._lock:
            recent = [t for t in self._done if now - t <= window_s]
        if len(recent) < 2:
            return 0.0
        span = recent[-1] - recent[0]
        return (len(recent) - 1) / span if span > 0 else 0.0

    def low_fps(self, min_fps: float, hold_s: float, now: float | None = None) -> float | None:
        """The frame rate over the last hold_s when frames kept coming for all of that time
        but fewer than min_fps a second, else None (too slow for a moment, or not running)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            done = list(self._done)
        if len(done) < 2 or now - done[0] < hold_s or now - done[-1] > hold_s / 2:
            return None  # not running that long yet, or stalled (the camera's warning says why)
        fps = self.fps(now, hold_s)
        return fps if 0 < fps < min_fps else None

    def latency_ms(self) -> dict[str, float | None]:
        with self._lock:
            values = np.array(self._latency) * 1000
        if values.size == 0:
            return {"p50": None, "p99": None}
        p50, p99 = np.percentile(values, [50, 99])
        return {"p50": round(float(p50), 1), "p99": round(float(p99), 1)}


def state_json(state: Any) -> dict:
    return state.to_json() if hasattr(state, "to_json") else dataclasses.asdict(state)


class LivePipeline:
    """Starts and stops the two threads; everything else happens in `_process`."""

    def __init__(
        self,
        open_source: Callable[[], FrameSource],
        pose: PoseStage,
        tracker: Tracker,
        workout: Workout,
        bus: EventBus,
        preview: PreviewBuffer,
        backoff: Backoff | None = None,
        training: Training | None = None,
    ) -> None:
        self.pose = pose
        self.tracker = tracker
        self.workout = workout
        self.training = training or Training()
        self.coaching = CuePolicy()
        self.bus = bus
        self.preview = preview
        self.slot: LatestSlot[Captured] = LatestSlot()
        self.capture = CaptureLoop(open_source, self.slot, backoff)
        self.timing = Timing()
        self.errors = 0
        self.heartbeat = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_state: dict | None = None
        self._training_version = -1
        self._pose_t: float | None = None  # the newest frame's pose-clock time
        self.finished = False
        self.paused = False  # "Pause counting": frames are shown, not counted
        self.lock = threading.Lock()  # held while a frame is processed; settings swap under it

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="inference", daemon=True)
        self._thread.start()
        self.capture.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.capture.stop(timeout)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def stalled(self, limit_s: float, now: float | None = None) -> str | None:
        """Why the pipeline looks stuck (for the watchdog), or None when it is alive."""
        now = time.monotonic() if now is None else now
        if self._thread is not None and not self._thread.is_alive() and not self._stop.is_set():
            return "the inference thread died"
        if now - self.heartbeat > limit_s:
            return f"the inference thread has not run for {now - self.heartbeat:.0f} s"
        if not self.capture.finished and now - self.capture.heartbeat > limit_s:
            return f"the capture thread has not run for {now - self.capture.heartbeat:.0f} s"
        return None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.heartbeat = time.monotonic()
            item = self.slot.take(0.5)
            if item is None:
                continue
            try:
                with self.lock:
                    self._process(item)
            except Exception:
                self.errors += 1
                if self.errors <= 10 or self.errors % 1000 == 0:
                    log.exception(
                        "frame %d failed (%d errors so far)", item.frame.index, self.errors
                    )

    def _process(self, item: Captured) -> None:
        pose = self.pose.process(item.frame)
        self._pose_t = pose.t
        if not self.paused:
            self._publish_outputs(self.tracker.update(pose))
            self._publish_set_end(self.workout.tick(pose.t), pose.t)
        self._publish_cues(self.training.tick(self.training.clock()))
        self.preview.update(item)
        self._publish_state()
        now = time.monotonic()
        self.timing.record(item.t_captured, now)
        self.bus.publish(
            "pose",
            {
                "frame": item.frame.index,
                "latency_ms": round((now - item.t_captured) * 1000, 1),
                **pose.to_json(),
            },
        )

    def finish(self) -> None:
        """The source ended or the pipeline stops: close a rep already back at the top, then
        the open set. Runs once."""
        with self.lock:
            if self.finished:
                return
            self.finished = True
            self._publish_outputs(self.tracker.flush())
            self._publish_set_end(self.workout.end_set(), self._pose_t)
            self._publish_state()

    def tick_training(self) -> None:
        """The rest countdown's clock while no frame comes (the video ended, the camera is
        gone): called about once a second. Skipped while a frame is processed (that ticks it),
        so a stuck frame cannot hold up the caller."""
        if not self.lock.acquire(blocking=False):
            return
        try:
            self._publish_cues(self.training.tick(self.training.clock()))
            self._publish_state()
        finally:
            self.lock.release()

    def set_trainee(self, trainee: Trainee | None) -> None:
        """Who trains, or their edited profile: the phones get the new state at once."""
        with self.lock:
            self.training.set_person(trainee)
            if self.training.complete:  # a target edited mid-set that the set already reached
                self._publish_set_end(self.workout.end_set(), None)
            self._publish_state()

    def switch_person(self, person_id: int) -> None:
        """The next reps count for person_id; an open set of someone else ends now, cut short
        (never a record)."""
        with self.lock:
            ended = self.workout.switch_person(person_id)
            if ended is not None and ended.id is not None:
                try:
                    self.workout.store.mark_cut_short(ended.id)
                except (sqlite3.Error, StoreError) as exc:
                    log.warning("cannot mark set %s as cut short: %s", ended.id, exc)
            self._publish_set_end(ended, self._pose_t)

    # --- the live page's controls ------------------------------------------------------------

    def adjust(self, delta: int) -> dict:
        """-1 or +1 on the open set: its count, target and plan go by the adjusted count."""
        with self.lock:
            current = self.workout.current
            if current is None:
                raise ControlRefused("no set is going: -1/+1 change the set in progress")
            if current.count + delta < 0:
                raise ControlRefused("the set has no reps to take away")
            current.adjust += delta
            self._training_rep(current)
            self._publish_state()
            return current.to_json()

    def end_set_now(self) -> dict:
        """End the open set now; its rest starts now."""
        with self.lock:
            ended = self.workout.end_set()
            if ended is None:
                raise ControlRefused("no set is going")
            self._publish_set_end(ended, None)
            self._publish_state()
            return ended.to_json()

    def pause(self, paused: bool) -> None:
        """Stop or start counting (someone walks in front of the camera)."""
        with self.lock:
            self.paused = paused
            self._last_state = None  # the state event says so at once
            self._publish_state()

    def rest(self, action: str) -> None:
        """ "skip" the rest or make it "longer" (+30 s)."""
        with self.lock:
            training = self.training
            if action == "skip":
                done = training.skip_rest()
            else:
                done = training.extend_rest(training.clock())
            if not done:
                raise ControlRefused("there is no rest going")
            self._publish_state()

    def _publish_outputs(self, outputs: list[Rep | Cue]) -> None:
        for output in outputs:
            if isinstance(output, Rep):
                open_set, ended, saved = self.workout.add_rep(output)
                self._publish_set_end(ended, output.t_end)
                number = open_set.reps + open_set.partial_reps
                coaching = self.coaching.rep(output, number).to_json()
                self.bus.publish(
                    "rep",
                    {
                        **output.to_json(),
                        "set": open_set.to_json(),
                        "saved": saved,
                        "coaching": coaching,
                    },
                )
                self._training_rep(open_set)
            else:
                self.bus.publish("cue", output.to_json())

    def _training_rep(self, open_set: OpenSet) -> None:
        """Training hears the open set's count; a set at its target ends now."""
        now = self.training.clock()
        self._publish_cues(self.training.rep(open_set.id, open_set.exercise, open_set.count, now))
        if self.training.complete:  # the target is reached: the set is complete
            self._publish_set_end(self.workout.end_set(), open_set.last_t)

    def _publish_cues(self, cues: list[TrainingCue]) -> None:
        for cue in cues:
            self.bus.publish("cue", cue.to_json())

    def _publish_state(self) -> None:
        state = state_json(self.tracker.state)
        if state != self._last_state or self.training.version != self._training_version:
            self._last_state = state
            self._training_version = self.training.version
            self.bus.publish("state", self.state())

    def _publish_set_end(self, ended: OpenSet | None, t: float | None) -> None:
        """Publish the set's end and its records; its rest counts from its last rep (t: the
        pose clock now; None: the rest starts now)."""
        if ended is None:
            return
        self._store_adjustment(ended)
        self.bus.publish("set", {"event": "end", **ended.to_json()})
        for record in self._new_records(ended):
            self.bus.publish("record", record)
        ago = max(0.0, t - ended.last_t) if t is not None else 0.0
        self._publish_cues(
            self.training.set_ended(ended.exercise, ended.count, self.training.clock(), ago)
        )

    def _store_adjustment(self, ended: OpenSet) -> None:
        """The set's -1/+1 taps as a correction of its count, logged like one made in History."""
        if not ended.adjust:
            return
        if ended.id is None or self.workout.writer.pending:
            log.warning("set %s: its -1/+1 cannot be stored while its reps wait", ended.id)
            return
        try:
            self.workout.store.correct_reps(ended.id, ended.count, ADJUST_REASON)
        except (sqlite3.Error, StoreError, CorrectionInvalid) as exc:
            log.warning("cannot store the -1/+1 of set %s: %s", ended.id, exc)

    def _new_records(self, ended: OpenSet) -> list[dict]:
        """The personal records the set just ended set, each published once. None while its
        reps wait in memory (the history cannot be written): they are not all stored yet."""
        if ended.id is None or self.workout.writer.pending:
            return []
        try:
            return self.workout.store.new_records(ended.id)
        except (sqlite3.Error, StoreError) as exc:
            log.warning("cannot look up the records of set %s: %s", ended.id, exc)
            return []

    def state(self) -> dict:
        """The exercise state with the open set, as the phone shows it."""
        current = self.workout.current
        state = self._last_state or state_json(self.tracker.state)
        return {
            **state,
            "paused": self.paused,
            "set": current.to_json() if current else None,
            "training": self.training.to_json(self.training.clock(), state.get("exercise")),
        }

    def status(self) -> dict:
        capture = self.capture
        return {
            "camera": {
                "state": capture.state,
                "source": capture.description,
                "error": capture.error,
                "frames": capture.frames,
                "reconnects": capture.reconnects,
            },
            "fps": round(self.timing.fps(), 1),
            "latency_ms": self.timing.latency_ms(),
            "frames_processed": self.timing.frames,
            "frames_dropped": self.slot.dropped,
            "errors": self.errors,
        }
