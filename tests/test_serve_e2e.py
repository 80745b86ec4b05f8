"""End to end on real clips: `repcounter serve` as its own process, the real pose model and
exercise engine, an SSE client over 127.0.0.1, the history in SQLite; kill -9 mid-set; a source
that raises mid-stream."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import threading

from device.bench.api_client import ApiClient
from device.bench.bench_serve import spawn_serve
from device.capture.frame import Captured
from device.capture.preview import PreviewBuffer
from device.capture.runner import Backoff
from device.capture.sources import VideoFileSource
from device.daemon import config
from device.daemon.events import EventBus
from device.daemon.live import LivePipeline
from device.exercise.tracker import ExerciseTracker
from device.history.store import Store
from device.history.workout import Workout
from device.pose.pipeline import PosePipeline
from tests.waiting import rep_events_of_the_clip, wait_until

PASSWORD = "end to end password"


def truth(shared_data, clip: str) -> tuple[int, int]:
    with (shared_data / "clips" / "truth.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["file"] == clip:
                return int(row["reps"]), int(row["reps_max"])
    raise AssertionError(f"{clip} is not in truth.tsv")


class LiveClient:
    """Logs in, then collects rep and set events in a thread."""

    def __init__(self, port: int) -> None:
        self.api = ApiClient("127.0.0.1", port, timeout=60)
        self.api.log_in(PASSWORD)
        self.reps: list[dict] = []
        self.set_ends: list[dict] = []
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.connected.wait(10), "the event stream did not open"

    def _read(self) -> None:
        try:
            for kind, data in self.api.events("rep,set,health"):
                self.connected.set()
                if kind == "rep":
                    self.reps.append(data)
                elif kind == "set" and data["event"] == "end":
                    self.set_ends.append(data)
        except OSError:
            pass


def start(shared_data, tmp_path, clip: str, name: str = "serve"):
    """Serve a clip that appears only once the client listens (a camera plugged in later), so
    the client sees every rep from the first."""
    source = tmp_path / clip
    process, port = spawn_serve(source, tmp_path / "data", tmp_path / f"{name}.log")
    client = LiveClient(port)
    if not source.exists():
        source.symlink_to(shared_data / "clips" / clip)
    return process, client


def stop(process) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0


def test_serve_counts_a_real_clip_and_keeps_the_set(shared_data, tmp_path):
    clip = "calimiro_push-up_40.mp4"
    low, high = truth(shared_data, clip)
    process, client = start(shared_data, tmp_path, clip)
    try:
        assert wait_until(lambda: client.set_ends, 90), (tmp_path / "serve.log").read_text()[-3000:]
        health = client.api.json("GET", "/api/health")[1]
        assert health["camera"]["state"] == "ended"
    finally:
        stop(process)
    complete = [rep for rep in client.reps if rep["complete"]]
    assert low <= len(complete) <= high, client.reps
    assert all(rep["exercise"] == "pushup" for rep in complete)
    assert client.set_ends[-1]["reps"] == len(complete)
    db = sqlite3.connect(tmp_path / "data" / "history.sqlite3")
    sets = db.execute("SELECT id, exercise FROM sets").fetchall()
    assert [s[1] for s in sets] == ["pushup"]
    stored = db.execute(
        "SELECT count(*) FROM reps WHERE complete = 1 AND set_id = ?", (sets[0][0],)
    )
    assert stored.fetchone()[0] == len(complete)


def test_partial_reps_reach_the_phone_and_the_history(shared_data, tmp_path):
    # A depth nobody reaches: every rep is partial (a numpy bool once broke each such event).
    config.save(config.Settings(exercise={"count_depth": 3.0}), tmp_path / "data" / "settings.toml")
    process, client = start(shared_data, tmp_path, "calimiro_push-up_40.mp4")
    try:
        assert wait_until(lambda: client.set_ends, 90), (tmp_path / "serve.log").read_text()[-3000:]
        stored = client.api.json("GET", "/api/reps")[1]["reps"]
    finally:
        stop(process)
    assert len(client.reps) == len(stored) > 0
    assert [r["complete"] for r in client.reps] == [r["complete"] for r in stored]
    assert not any(r["complete"] for r in stored)
    assert all(r["saved"] for r in client.reps)


def test_kill_9_during_a_set_loses_no_completed_rep(shared_data, tmp_path):
    clip = "darebee_squat.mp4"
    process, client = start(shared_data, tmp_path, clip, "first")
    try:
        assert wait_until(lambda: len(client.reps) >= 3, 90), (tmp_path / "first.log").read_text()[
            -3000:
        ]
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    seen = len(client.reps)
    db_path = tmp_path / "data" / "history.sqlite3"
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT count(*) FROM reps").fetchone()[0] >= seen  # every rep a client saw
    db.close()

    # The service restarts (systemd's Restart=on-failure) and the history is all there.
    os.unlink(tmp_path / clip)
    process, client = start(shared_data, tmp_path, "calimiro_push-up_40.mp4", "second")
    try:
        assert wait_until(lambda: client.set_ends, 90), (tmp_path / "second.log").read_text()[
            -3000:
        ]
        sessions = client.api.json("GET", "/api/sessions")[1]["sessions"]
        assert sum(s["reps"] + s["partial_reps"] for s in sessions) >= seen + len(client.reps)
    finally:
        stop(process)
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    exercises = [row[0] for row in db.execute("SELECT exercise FROM sets ORDER BY id")]
    assert exercises == ["squat", "pushup"]


class FlakyFile:
    """A video file that raises once mid-stream; reopening continues where it failed."""

    def __init__(self, source: VideoFileSource, fail_at: int) -> None:
        self.source, self.fail_at = source, fail_at
        self.live, self.description = False, "flaky file"

    def read(self) -> Captured:
        if self.fail_at is not None and self.source._index == self.fail_at:
            self.fail_at = None
            raise OSError("camera unplugged")
        return self.source.read()

    def close(self) -> None:
        pass  # keep the file open: the "camera" keeps its place


def test_a_source_that_raises_mid_stream_is_reconnected_and_counting_resumes(shared_data, tmp_path):
    clip = "darebee_squat.mp4"
    low, high = truth(shared_data, clip)
    flaky = FlakyFile(VideoFileSource(shared_data / "clips" / clip, realtime=False), fail_at=150)
    bus = EventBus()
    store = Store(tmp_path / "h.sqlite3")
    pipeline = LivePipeline(
        lambda: flaky,
        PosePipeline.create(),
        ExerciseTracker(),
        Workout(store),
        bus,
        PreviewBuffer(),
        Backoff(0.05, 0.1),
    )
    reps_before_failure = []

    def note_reps_before_failure() -> None:
        nonlocal reps_before_failure
        if pipeline.capture.reconnects == 0:
            reps_before_failure = store.reps()

    events = rep_events_of_the_clip(pipeline, bus, 120, note_reps_before_failure)
    assert pipeline.capture.state == "ended"
    assert pipeline.capture.reconnects == 1
    complete = [e for e in events if e["complete"]]
    assert low <= len(complete) <= high, events
    assert 0 < len(reps_before_failure) < len(complete)  # counting went on after the failure
    assert len(store.reps()) == len(events)
