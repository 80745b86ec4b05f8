"""Sets start with their first rep and end after the idle time; sessions group sets."""

from __future__ import annotations

import itertools
import logging
import sqlite3

from device.exercise.types import Cue, Rep
from device.history.rep_writer import RepWriter
from device.history.store import RepRecord, Store
from device.history.workout import OpenSet, Workout


def make_rep(t_end: float, exercise: str = "squat", complete: bool = True) -> Rep:
    cue = Cue("go_deeper", "Go deeper", t_end, exercise)
    return Rep(exercise, complete, t_end - 2.0, t_end - 1.0, t_end, 1.0, 1.0, 1.0, (cue,))


def workout(tmp_path, idle: float = 10.0) -> Workout:
    wall = itertools.count(1_700_000_000, 3)
    return Workout(
        Store(tmp_path / "h.sqlite3"), idle, 1800.0, wall_clock=lambda: float(next(wall))
    )


def test_set_starts_with_first_rep_and_ends_when_idle(tmp_path):
    w = workout(tmp_path)
    assert w.tick(0.0) is None and w.current is None
    first, ended, saved = w.add_rep(make_rep(3.0))
    assert ended is None and saved and first.reps == 1
    second, _, _ = w.add_rep(make_rep(6.0, complete=False))
    assert second is first and (first.reps, first.partial_reps) == (1, 1)
    assert w.tick(15.9) is None  # 9.9 s idle
    closed = w.tick(16.1)
    assert closed is first and w.current is None
    third, _, _ = w.add_rep(make_rep(40.0))
    assert third.id != first.id and third.session_id == first.session_id


def test_a_change_of_exercise_starts_a_new_set(tmp_path):
    w = workout(tmp_path)
    squat, _, _ = w.add_rep(make_rep(3.0))
    pushup, ended, _ = w.add_rep(make_rep(6.0, "pushup"))
    assert ended is squat and pushup.exercise == "pushup" and pushup.id != squat.id


def test_a_clock_jump_back_ends_the_set(tmp_path):
    w = workout(tmp_path)
    w.add_rep(make_rep(100.0))
    assert w.tick(2.0) is not None  # a new source restarted its clock


def test_reps_are_stored_with_wall_times_and_cues(tmp_path):
    w = workout(tmp_path)
    opened, _, _ = w.add_rep(make_rep(3.0))
    stored = w.store.set(opened.id)
    assert stored["set"]["reps"] == 1
    rep = stored["reps"][0]
    assert rep["cues"] == ["go_deeper"]
    assert rep["ended_at"] - rep["started_at"] == 2.0
    assert rep["ended_at"] > 1_600_000_000


def test_end_set(tmp_path):
    w = workout(tmp_path)
    opened, _, _ = w.add_rep(make_rep(3.0))
    assert w.end_set() is opened and w.end_set() is None


class FailingStore:
    """A real store whose writes fail with `error` while it is set (disk full, read-only)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.error: Exception | None = None
        self.attempts = 0

    def next_set_id(self) -> int:
        return self.store.next_set_id()

    def active_person_id(self) -> int:
        return self.store.active_person_id()

    def add_rep(self, *args):
        self.attempts += 1
        if self.error is not None:
            raise self.error
        return self.store.add_rep(*args)


def test_reps_that_cannot_be_written_wait_in_memory_and_are_written_in_order(tmp_path, caplog):
    store = Store(tmp_path / "h.sqlite3")
    failing = FailingStore(store)
    w = Workout(failing, set_idle_s=10.0)
    first, _, saved = w.add_rep(make_rep(3.0))
    assert saved and first.session_id is not None
    failing.error = sqlite3.OperationalError("database or disk is full")
    caplog.set_level(logging.WARNING, "device.history.rep_writer")
    results = [w.add_rep(make_rep(t)) for t in (6.0, 9.0)]
    assert [saved for _, _, saved in results] == [False, False]
    later, ended, saved = w.add_rep(make_rep(40.0))  # a new set while the disk is full
    assert ended is first and not saved and later.id == first.id + 1 and later.session_id is None
    status = w.writer.status()
    assert status["pending_reps"] == 3 and "disk is full" in status["error"]
    assert failing.attempts == 2  # one failed write, then none until the retry is due
    w.writer.retry()
    assert failing.attempts == 2
    failing.error = OSError(30, "Read-only file system")
    assert w.writer.flush_now() == 3
    failing.error = None
    assert w.writer.flush_now() == 0
    assert w.writer.status() == {
        "pending_reps": 0,
        "lost_reps": 0,
        "error": None,
        "failing_s": None,
    }
    stored = store.reps()
    assert [r["set_id"] for r in stored] == [first.id] * 3 + [later.id]
    assert [r["ended_at"] for r in stored] == sorted(r["ended_at"] for r in stored)
    assert later.session_id == first.session_id
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3, messages  # failing, a new error, writable again
    assert "cannot write" in messages[0] and "Read-only" in messages[1]
    assert "writable again" in messages[2] and "3 waiting reps written" in messages[2]


def test_a_full_queue_drops_the_oldest_and_says_so(caplog):
    class Full:
        def add_rep(self, *args):
            raise sqlite3.OperationalError("database or disk is full")

    clock = [0.0]
    writer = RepWriter(Full(), limit=3, retry_first_s=1.0, retry_max_s=4.0, clock=lambda: clock[0])
    caplog.set_level(logging.WARNING, "device.history.rep_writer")
    target = OpenSet(1, None, 1, "squat", 0, 0, 0.0)
    for i in range(5):
        assert not writer.write(RepRecord("squat", True, i, i + 1, 1.0, 1.0, 1.0), target, 60)
    assert writer.status()["pending_reps"] == 3 and writer.lost == 2
    assert sum("dropping the oldest" in r.getMessage() for r in caplog.records) == 1
    # The first write failed at 0 s; retries wait 1 s, 2 s, then 4 s (the maximum) each.
    attempts = []
    original = Full.add_rep

    def counted(self, *args):
        attempts.append(clock[0])
        original(self, *args)

    Full.add_rep = counted
    while clock[0] < 20:
        clock[0] += 0.25
        writer.retry()
    assert attempts == [1.0, 3.0, 7.0, 11.0, 15.0, 19.0]
