"""The training state machine on synthetic rep events, set ends and clock times."""

from __future__ import annotations

import numpy as np

from device.capture.frame import Captured, Frame
from device.capture.preview import PreviewBuffer
from device.daemon.events import EventBus
from device.daemon.live import LivePipeline
from device.daemon.training import GET_READY_S, Trainee, Training
from device.history.store import Store
from device.history.workout import Workout
from tests.test_serve_pipeline import FakePose, FakeTracker

PLAN = [{"exercise": "squat", "sets": 2, "reps": 6}, {"exercise": "pushup", "sets": 1, "reps": 4}]


def person(id: int = 1, rest_s: int = 90, targets=None, plan=None) -> Trainee:
    return Trainee.from_json({
        "id": id, "name": f"P{id}", "colour": "#112233", "rest_s": rest_s,
        "targets": targets or {}, "plan": plan or [],
    })  # fmt: skip


def run_set(t: Training, set_id: int, exercise: str, reps: int, start: float) -> list[str]:
    """Feed `reps` complete reps 2 s apart; the codes of every cue; the set ended on target."""
    codes = []
    for n in range(1, reps + 1):
        codes += [c.code for c in t.rep(set_id, exercise, n, start + 2 * n)]
        if t.complete:
            codes += [c.code for c in t.set_ended(exercise, n, start + 2 * n)]
            return codes
    return codes


def test_target_gives_to_go_then_done_and_completes_the_set() -> None:
    t = Training(person(targets={"squat": 10}))
    said = []
    for n in range(1, 11):
        cues = t.rep(7, "squat", n, float(n))
        said += [(n, c.code, c.message) for c in cues]
        state = t.to_json(float(n))
        assert (state["target"], state["reps"], state["to_go"]) == (10, n, 10 - n)
        assert t.complete == (n == 10)
    assert said == [(7, "to_go", "3 to go"), (10, "target_done", "Done: 10 squats")]
    t.set_ended("squat", 10, 10.0)
    state = t.to_json(10.0)
    assert state["phase"] == "rest" and state["last"] == {
        "exercise": "squat", "reps": 10, "target": 10, "done": True
    }  # fmt: skip
    assert state["rest"] == {"total_s": 90.0, "remaining_s": 90.0}


def test_no_to_go_under_five_and_no_target_no_cues() -> None:
    t = Training(person(targets={"squat": 4, "pushup": 0}))
    codes = run_set(t, 1, "squat", 4, 0.0)
    assert codes == ["target_done"], "a target of 4 has no '3 to go' (it would be at rep 1)"
    t = Training(person(targets={"squat": 5}))
    assert run_set(t, 1, "squat", 5, 0.0) == ["to_go", "target_done"]
    for n in range(1, 30):
        assert t.rep(2, "pushup", n, 100.0 + n) == [], "no target for push-ups: no cues"
    assert not t.complete and t.to_json(130.0)["target"] is None


def test_rest_counts_down_warns_once_and_ends() -> None:
    t = Training(person(rest_s=30, targets={"squat": 5}))
    run_set(t, 1, "squat", 5, 0.0)  # ends at 10.0
    assert t.to_json(15.0)["rest"]["remaining_s"] == 25.0
    assert t.tick(15.0) == []
    [cue] = t.tick(40.0 - GET_READY_S + 0.05)
    assert cue.code == "get_ready" and cue.message == "Get ready: 10 seconds"
    assert t.tick(35.0) == [], "the warning is given once"
    [cue] = t.tick(40.0)
    assert cue.code == "rest_over" and t.to_json(40.0)["phase"] == "ready"
    assert t.tick(41.0) == []


def test_a_set_ended_by_idle_rests_from_its_last_rep() -> None:
    t = Training(person(rest_s=90))
    for n in range(1, 4):
        t.rep(1, "squat", n, float(n))
    # The workout ends the set 20 s after the last rep (its idle time).
    assert t.set_ended("squat", 3, 23.0, ago=20.0) == []
    state = t.to_json(23.0)
    assert state["phase"] == "rest" and state["rest"]["remaining_s"] == 70.0
    assert state["last"]["done"] is False and state["last"]["target"] is None
    # A long idle time: the rest may be all but over at once.
    t.rep(2, "squat", 1, 200.0)
    assert [c.code for c in t.set_ended("squat", 1, 295.0, ago=85.0)] == ["get_ready"]


def test_a_rep_during_the_rest_ends_it_and_starts_the_next_set() -> None:
    t = Training(person(targets={"squat": 5}))
    run_set(t, 1, "squat", 5, 0.0)
    assert t.to_json(12.0)["phase"] == "rest"
    t.rep(2, "squat", 0, 13.0)  # a partial rep starts the set too
    state = t.to_json(13.0)
    assert state["phase"] == "set" and state["rest"] is None and state["last"] is None
    assert (state["reps"], state["target"]) == (0, 5)
    assert t.tick(200.0) == [], "no rest cues once the rest was cut short"


def test_plan_walks_set_by_set_and_says_when_done() -> None:
    t = Training(person(targets={"squat": 20}, plan=PLAN))
    plan = t.to_json(0.0)["plan"]
    assert (plan["step"], plan["exercise"], plan["set"], plan["sets"], plan["reps"]) == (
        0, "squat", 1, 2, 6)  # fmt: skip
    assert t.to_json(0.0)["target"] == 6, "the step's reps beat the person's own target"
    assert run_set(t, 1, "squat", 6, 0.0) == ["to_go", "target_done"]
    assert t.to_json(13.0)["plan"]["set"] == 2
    # A short set (ended by idle time) still counts as one of the step's sets.
    run_set(t, 2, "squat", 4, 100.0)
    t.set_ended("squat", 4, 130.0, ago=22.0)
    plan = t.to_json(130.0)["plan"]
    assert (plan["step"], plan["exercise"], plan["set"], plan["reps"]) == (1, "pushup", 1, 4)
    assert t.to_json(130.0)["exercise"] == "pushup" and t.to_json(130.0)["target"] == 4
    assert run_set(t, 3, "pushup", 4, 200.0) == ["target_done", "plan_done"]
    plan = t.to_json(210.0)["plan"]
    assert plan["done"] and plan["set"] is None and plan["exercise"] is None
    # Past the plan, the person's own targets apply.
    t.rep(4, "squat", 1, 300.0)
    assert t.to_json(300.0)["target"] == 20


def test_another_exercise_mid_plan_leaves_the_plan_where_it_was() -> None:
    t = Training(person(targets={"pushup": 12}, plan=PLAN))
    run_set(t, 1, "squat", 6, 0.0)
    t.rep(2, "pushup", 1, 20.0)
    assert t.to_json(20.0)["target"] == 12, "the person's own push-up target"
    t.set_ended("pushup", 1, 40.0, ago=20.0)
    plan = t.to_json(40.0)["plan"]
    assert (plan["step"], plan["set"]) == (0, 2), "still squats, set 2"
    # A set with only partial reps does not count either.
    t.rep(3, "squat", 0, 50.0)
    t.set_ended("squat", 0, 70.0, ago=20.0)
    assert t.to_json(70.0)["plan"]["set"] == 2


def test_plan_starts_over_after_a_session_gap_or_a_changed_plan() -> None:
    t = Training(person(plan=PLAN), session_gap_s=1800.0)
    run_set(t, 1, "squat", 6, 0.0)
    assert t.to_json(100.0)["plan"]["set"] == 2
    t.rep(2, "squat", 1, 12.0 + 1801.0)  # the next set, a new session
    plan = t.to_json(1813.0)["plan"]
    assert (plan["step"], plan["set"]) == (0, 1)
    run_set(t, 3, "squat", 6, 2000.0)
    assert t.to_json(2100.0)["plan"]["set"] == 2
    t.set_person(person(plan=[{"exercise": "squat", "sets": 5, "reps": 6}]))
    assert t.to_json(2100.0)["plan"]["set"] == 1, "an edited plan starts over"
    assert t.to_json(2100.0)["phase"] == "rest", "the same person's edit keeps the rest"


def test_another_person_starts_ready_and_keeps_each_plan_apart() -> None:
    t = Training(person(1, plan=PLAN))
    run_set(t, 1, "squat", 6, 0.0)
    t.set_person(person(2, rest_s=60))
    state = t.to_json(13.0)
    assert (state["person_id"], state["phase"], state["rest"], state["plan"]) == (
        2,
        "ready",
        None,
        None,
    )
    run_set(t, 2, "squat", 3, 20.0)
    t.set_ended("squat", 3, 46.0)
    assert t.to_json(46.0)["rest"]["total_s"] == 60.0
    t.set_person(person(1, plan=PLAN))
    assert t.to_json(50.0)["plan"]["set"] == 2, "person 1's plan progress was kept"


def test_no_person_no_rest_and_version_moves_with_changes() -> None:
    t = Training()
    before = t.version
    t.rep(1, "squat", 1, 1.0)
    assert t.version > before
    t.set_ended("squat", 1, 2.0)
    state = t.to_json(2.0)
    assert state["phase"] == "ready" and state["rest"] is None and state["person_id"] is None
    version = t.version
    assert t.tick(500.0) == [] and t.version == version, "nothing changed, no new state"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_pipeline_ends_the_set_at_its_target_and_rests(tmp_path) -> None:
    """LivePipeline with stand-in pose and exercise stages (a squat every 10 frames at 30 fps),
    frames fed one by one: the target's set ends at once, its rest rides in the state."""
    clock = Clock()
    training = Training(person(rest_s=60, targets={"squat": 5}), clock=clock)
    bus = EventBus()
    pipeline = LivePipeline(
        lambda: None, FakePose(), FakeTracker(), Workout(Store(tmp_path / "h.sqlite3"), 20.0),
        bus, PreviewBuffer(), training=training,
    )  # fmt: skip
    events = []
    with bus.subscribe({"rep", "set", "cue", "state"}) as sub:
        for index in range(60):  # 6 reps, 2 s of video
            clock.now += 1 / 30
            pipeline._process(
                Captured(Frame(np.zeros((48, 64, 3), np.uint8), index / 30, index), 0.0)
            )
            if index == 49:
                state = pipeline.state()["training"]
                assert state["phase"] == "rest" and state["last"]["done"]
                assert 59.0 < state["rest"]["remaining_s"] <= 60.0
        events = [(e.kind, e.data) for e in sub.get_all(0)]
    said = [(d["code"], d.get("training")) for k, d in events if k == "cue"]
    assert ("to_go", True) in said and ("target_done", True) in said
    reps = [d["set"] for k, d in events if k == "rep"]
    ends = [d for k, d in events if k == "set"]
    assert [r["reps"] for r in reps] == [1, 2, 3, 4, 5, 1], "rep 6 opens the next set"
    assert len(ends) == 1 and ends[0]["reps"] == 5 and ends[0]["set_id"] == reps[0]["set_id"]
    assert reps[5]["set_id"] != reps[0]["set_id"]
    order = [(k, d.get("code")) for k, d in events if k in ("rep", "set", "cue")]
    assert order.index(("cue", "target_done")) < order.index(("set", None))
    # The rep that ended the rest: the state says so.
    final = pipeline.state()["training"]
    assert final["phase"] == "set" and final["reps"] == 1 and final["rest"] is None
    # No frames (the video ended): the daemon's clock still ends the rest of the last set.
    pipeline.finish()
    assert pipeline.state()["training"]["phase"] == "rest"
    clock.now += 61
    with bus.subscribe({"cue", "state"}) as sub:
        pipeline.tick_training()
        kinds = [(e.kind, e.data.get("code")) for e in sub.get_all(0)]
    assert ("cue", "rest_over") in kinds and ("state", None) in kinds
    assert pipeline.state()["training"]["phase"] == "ready"
