"""Sets start with their first rep and end after the idle time; sessions group sets."""

from __future__ import annotations

import itertools

from device.daemon.store import Store
from device.daemon.workout import Workout
from device.exercise.types import Cue, Rep


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
    first, ended = w.add_rep(make_rep(3.0))
    assert ended is None and first.reps == 1
    second, _ = w.add_rep(make_rep(6.0, complete=False))
    assert second is first and (first.reps, first.partial_reps) == (1, 1)
    assert w.tick(15.9) is None  # 9.9 s idle
    closed = w.tick(16.1)
    assert closed is first and w.current is None
    third, _ = w.add_rep(make_rep(40.0))
    assert third.id != first.id and third.session_id == first.session_id


def test_a_change_of_exercise_starts_a_new_set(tmp_path):
    w = workout(tmp_path)
    squat, _ = w.add_rep(make_rep(3.0))
    pushup, ended = w.add_rep(make_rep(6.0, "pushup"))
    assert ended is squat and pushup.exercise == "pushup" and pushup.id != squat.id


def test_a_clock_jump_back_ends_the_set(tmp_path):
    w = workout(tmp_path)
    w.add_rep(make_rep(100.0))
    assert w.tick(2.0) is not None  # a new source restarted its clock


def test_reps_are_stored_with_wall_times_and_cues(tmp_path):
    w = workout(tmp_path)
    opened, _ = w.add_rep(make_rep(3.0))
    stored = w.store.set(opened.id)
    assert stored["set"]["reps"] == 1
    rep = stored["reps"][0]
    assert rep["cues"] == ["go_deeper"]
    assert rep["ended_at"] - rep["started_at"] == 2.0
    assert rep["ended_at"] > 1_600_000_000


def test_end_set(tmp_path):
    w = workout(tmp_path)
    opened, _ = w.add_rep(make_rep(3.0))
    assert w.end_set() is opened and w.end_set() is None
