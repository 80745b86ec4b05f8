"""The training state machine on synthetic rep events, set ends and clock times."""

from __future__ import annotations

import dataclasses

import numpy as np

from device.capture.frame import Captured, Frame
from device.capture.preview import PreviewBuffer
from device.daemon.events import EventBus
from device.daemon.live import LivePipeline
from device.daemon.training import GET_READY_S, Trainee, Training
from device.exercise.types import Rep
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
    """Feed `reps` complete reps 2 s apart; the codes of every cue but "counting for" (tested
    on its own); the set ended on target."""
    codes = []
    for n in range(1, reps + 1):
        codes += [c.code for c in t.rep(set_id, exercise, n, start + 2 * n)]
        codes = [code for code in codes if code != "counting_for"]
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
    assert said == [
        (1, "counting_for", "Counting for P1"),  # the first set since the start: whose it is
        (7, "to_go", "3 to go"),
        (10, "target_done", "Done: 10 squats"),
    ]
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


# --- issue 21: behaviour that surprised people ------------------------------------------------


def test_a_target_set_mid_set_applies_to_the_open_set() -> None:
    clock = Clock()
    t = Training(person(), clock=clock)
    for n in range(1, 4):
        t.rep(1, "squat", n, clock.now + n)
    assert t.to_json(clock.now)["target"] is None
    t.set_person(person(targets={"squat": 5}))  # the same person's edit, three reps in
    state = t.to_json(clock.now)
    assert (state["phase"], state["target"], state["to_go"]) == ("set", 5, 2)
    assert not t.complete
    assert [c.code for c in t.rep(1, "squat", 4, clock.now + 4)] == []
    assert [c.code for c in t.rep(1, "squat", 5, clock.now + 5)] == ["target_done"]
    assert t.complete
    # A target already reached completes the set at once.
    t = Training(person(), clock=clock)
    for n in range(1, 8):
        t.rep(2, "squat", n, clock.now + n)
    t.set_person(person(targets={"squat": 6}))
    assert t.complete


def test_a_plan_made_mid_set_starts_with_the_next_set() -> None:
    clock = Clock()
    t = Training(person(), clock=clock)
    for n in range(1, 5):
        clock.now += 2
        t.rep(1, "squat", n, clock.now)
    t.set_person(person(plan=PLAN))
    state = t.to_json(clock.now)
    assert state["in_plan"] is False and state["target"] is None, "not one of the plan's sets"
    clock.now += 20
    t.set_ended("squat", 4, clock.now, ago=20)
    plan = t.to_json(clock.now)["plan"]
    assert (plan["step"], plan["set"], plan["sets"]) == (0, 1, 2), "the old set did not count"
    assert t.to_json(clock.now)["in_plan"] is True, "the next set is the plan's first"
    clock.now += 100
    assert run_set(t, 2, "squat", 6, clock.now) == ["to_go", "target_done"]
    assert t.to_json(clock.now + 20)["plan"]["set"] == 2


def test_plan_progress_survives_a_restart(tmp_path) -> None:
    store = Store(tmp_path / "h.sqlite3")
    clock, wall = Clock(), [1_800_000_000.0]
    t = Training(person(plan=PLAN), clock=clock, keeper=store, wall_clock=lambda: wall[0])
    assert t.to_json(clock.now)["plan"]["set"] == 1
    run_set(t, 1, "squat", 6, clock.now + 1)
    assert t.to_json(clock.now + 20)["plan"]["set"] == 2
    store.close()
    # A restart five minutes later: a new monotonic clock, the same history.
    store = Store(tmp_path / "h.sqlite3")
    clock2, wall[0] = Clock(), wall[0] + 300
    clock2.now = 5.0
    t = Training(person(plan=PLAN), clock=clock2, keeper=store, wall_clock=lambda: wall[0])
    plan = t.to_json(clock2.now)["plan"]
    assert (plan["step"], plan["set"]) == (0, 2), "set 2 of 2, as before the restart"
    run_set(t, 2, "squat", 6, clock2.now + 1)
    assert t.to_json(clock2.now + 20)["plan"]["exercise"] == "pushup"
    # After a session gap (across the restart too) it starts over.
    store.close()
    store = Store(tmp_path / "h.sqlite3")
    wall[0] += 3 * 3600
    t = Training(person(plan=PLAN), clock=Clock(), keeper=store, wall_clock=lambda: wall[0])
    t.rep(3, "squat", 1, 1000.0)
    assert t.to_json(1000.0)["plan"]["step"] == 0
    store.close()


def test_counting_for_is_said_at_a_new_session_and_after_a_switch_only() -> None:
    t = Training(person(1), session_gap_s=1800.0)
    said = lambda cues: [c.message for c in cues if c.code == "counting_for"]  # noqa: E731
    assert said(t.rep(1, "squat", 1, 0.0)) == ["Counting for P1"]
    t.set_ended("squat", 1, 20.0)
    assert said(t.rep(2, "squat", 1, 120.0)) == [], "the same session: said once"
    t.set_ended("squat", 1, 140.0)
    assert said(t.rep(3, "squat", 1, 140.0 + 1801.0)) == ["Counting for P1"], "a new session"
    t.set_person(person(2))
    assert said(t.rep(4, "squat", 1, 2000.0)) == ["Counting for P2"], "someone else now"
    assert said(t.rep(4, "squat", 2, 2002.0)) == []


def test_the_rest_can_be_skipped_or_made_longer() -> None:
    t = Training(person(rest_s=60, targets={"squat": 5}))
    assert not t.skip_rest() and not t.extend_rest(0.0), "no rest yet"
    run_set(t, 1, "squat", 5, 0.0)  # ends at 10.0
    [cue] = t.tick(61.0)
    assert cue.code == "get_ready"
    assert t.extend_rest(61.0)
    assert t.to_json(61.0)["rest"] == {"total_s": 90.0, "remaining_s": 39.0}
    assert t.tick(62.0) == [], "far from the end again"
    assert [c.code for c in t.tick(91.0)] == ["get_ready"], "warned again near the new end"
    assert t.skip_rest()
    assert t.to_json(92.0)["phase"] == "ready" and t.tick(200.0) == []


def frames(pipeline, clock, start: int, count: int) -> None:
    for index in range(start, start + count):
        clock.now += 1 / 30
        pipeline._process(Captured(Frame(np.zeros((48, 64, 3), np.uint8), index / 30, index), 0.0))


def test_live_controls_adjust_end_pause_and_rest(tmp_path) -> None:
    """-1/+1 on the open set (stored as a logged correction at its end), end set now, pause,
    rest skip / +30 s, on a LivePipeline with stand-in stages (a squat every 10 frames)."""
    from device.daemon.live import ControlRefused

    clock = Clock()
    store = Store(tmp_path / "h.sqlite3")
    training = Training(person(rest_s=60, targets={"squat": 6}), clock=clock)
    pipeline = LivePipeline(
        lambda: None, FakePose(), FakeTracker(), Workout(store, 20.0), EventBus(),
        PreviewBuffer(), training=training,
    )  # fmt: skip
    try:
        pipeline.adjust(1)
        raise AssertionError("no set is going: -1/+1 is refused")
    except ControlRefused:
        pass
    frames(pipeline, clock, 0, 30)  # 3 reps
    assert pipeline.adjust(1)["reps"] == 4
    assert pipeline.adjust(-1)["reps"] == 3
    pipeline.adjust(1)
    state = pipeline.state()
    assert state["set"]["reps"] == 4 and state["training"]["to_go"] == 2
    set_id = state["set"]["set_id"]
    ended = pipeline.end_set_now()
    assert ended["set_id"] == set_id and pipeline.state()["set"] is None
    stored = store.set(set_id)
    assert (stored["set"]["counted_reps"], stored["set"]["reps"]) == (3, 4)
    [log] = stored["corrections"]
    assert (log["field"], log["before"], log["after"]) == ("reps", "3", "4")
    assert "live page" in log["reason"]
    # The rest: +30 s, then skip.
    assert pipeline.state()["training"]["rest"]["total_s"] == 60.0
    pipeline.rest("longer")
    assert pipeline.state()["training"]["rest"]["total_s"] == 90.0
    pipeline.rest("skip")
    assert pipeline.state()["training"]["phase"] == "ready"
    try:
        pipeline.rest("skip")
        raise AssertionError("no rest to skip")
    except ControlRefused:
        pass
    # Paused: frames come, nothing is counted; resumed, counting goes on.
    pipeline.pause(True)
    assert pipeline.state()["paused"] is True
    frames(pipeline, clock, 30, 40)
    assert pipeline.state()["set"] is None
    pipeline.pause(False)
    frames(pipeline, clock, 70, 20)
    assert pipeline.state()["set"]["reps"] == 2
    # The taps reaching the target end the set like a rep does.
    for _ in range(4):
        pipeline.adjust(1)
    assert pipeline.state()["set"] is None
    assert pipeline.state()["training"]["last"] == {
        "exercise": "squat", "reps": 6, "target": 6, "done": True
    }  # fmt: skip
    store.close()


class DeepTracker(FakeTracker):
    """FakeTracker's squats at a depth that can be changed, and none while `idle`."""

    depth = 1.0
    idle = False

    def update(self, pose):
        if self.idle:
            return []
        outputs = super().update(pose)
        return [dataclasses.replace(o, depth=self.depth) if isinstance(o, Rep) else o
                for o in outputs]  # fmt: skip


def test_a_person_switch_cuts_the_set_short_and_it_is_never_a_record(tmp_path) -> None:
    clock = Clock()
    store = Store(tmp_path / "h.sqlite3")
    ana = store.add_person("Ana", "#e67e22")["id"]
    bus = EventBus()
    pipeline = LivePipeline(
        lambda: None, FakePose(), DeepTracker(), Workout(store, 20.0), bus, PreviewBuffer(),
        training=Training(clock=clock),
    )  # fmt: skip
    tracker = pipeline.tracker

    def idle(start: int) -> None:  # 25 s without a rep: the open set ends
        tracker.idle = True
        frames(pipeline, clock, start, 30 * 25)
        tracker.idle = False

    frames(pipeline, clock, 0, 40)  # 4 squats of depth 1.0 for Me
    idle(40)
    tracker.depth = 1.5  # deeper than ever, but ...
    with bus.subscribe({"record", "set"}) as sub:
        frames(pipeline, clock, 790, 10)  # ... one rep, ended by idle time
        idle(800)
        assert [e.kind for e in sub.get_all(0)] == ["set"], "a 1-rep set is no record"
        frames(pipeline, clock, 1550, 50)  # five reps, then Ana steps in
        pipeline.switch_person(ana)
        assert [e.kind for e in sub.get_all(0)] == ["set"], "a set cut short is no record"
    squat = next(r for r in store.records(1) if r["exercise"] == "squat")
    assert squat["depth"]["value"] == 1.0, "History's best depth is the real set's"
    assert squat["set_reps"]["value"] == 4
    pipeline.switch_person(1)
    with bus.subscribe({"record"}) as sub:
        frames(pipeline, clock, 1600, 40)
        pipeline.end_set_now()
        assert {e.data["record"] for e in sub.get_all(0)} == {"depth"}, "a real deep set is"
    store.close()
