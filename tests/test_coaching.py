"""The cue policy (which cue the phone shows after each rep, and when it is said) and the set's
summary in plain words."""

from __future__ import annotations

from device.exercise.coaching import Coaching, CuePolicy, rep_ranges, set_summary
from device.exercise.cues import cue
from device.exercise.types import Rep


def rep(exercise: str, *codes: str, severe: bool = False, t: float = 1.0) -> Rep:
    cues = tuple(cue(c, t, exercise, severe) for c in codes)
    return Rep(exercise, True, t - 1.0, t - 0.5, t, 1.0, 0.5, 0.5, cues)


def feed(policy: CuePolicy, reps: list[Rep], first: int = 1) -> list[Coaching]:
    return [policy.rep(r, n) for n, r in enumerate(reps, start=first)]


def shown(coaching: list[Coaching]) -> list[str | None]:
    return [c.cue.code if c.cue else None for c in coaching]


def test_a_fault_is_shown_when_it_holds_on_2_of_the_last_3_reps():
    sag = rep("pushup", "hips_sagging")
    good = rep("pushup")
    out = feed(CuePolicy(), [sag, good, good, sag, good, sag, sag])
    assert shown(out) == [None, None, None, None, None, "hips_sagging", "hips_sagging"]
    assert [c.rep for c in out] == [1, 2, 3, 4, 5, 6, 7]


def test_a_severe_fault_is_shown_at_once():
    out = feed(CuePolicy(), [rep("squat", "go_deeper", severe=True)])
    assert shown(out) == ["go_deeper"] and out[0].speak


def test_one_message_severe_first_then_the_exercise_order():
    both = rep("pushup", "go_lower", "hips_sagging")
    assert shown(feed(CuePolicy(), [both, both])) == [None, "go_lower"]
    severe_sag = Rep(
        "pushup",
        True,
        0.0,
        0.5,
        1.0,
        1.0,
        0.5,
        0.5,
        (cue("go_lower", 1.0, "pushup"), cue("hips_sagging", 1.0, "pushup", severe=True)),
    )
    assert shown(feed(CuePolicy(), [both, severe_sag])) == [None, "hips_sagging"]


def test_a_good_rep_clears_the_cue_so_the_box_always_shows_the_latest_rep():
    sag, good = rep("pushup", "hips_sagging"), rep("pushup")
    out = feed(CuePolicy(), [sag, sag, good, sag])
    # rep 4 sags again: 2 of the last 3 (reps 2 and 4), shown again with its own number
    assert shown(out) == [None, "hips_sagging", None, "hips_sagging"]
    assert out[3].rep == 4
    assert out[2].to_json() == {"rep": 3, "cue": None, "speak": False}


def test_said_once_per_set_unless_it_gets_worse():
    policy = CuePolicy()
    sag = rep("pushup", "hips_sagging")
    worse = rep("pushup", "hips_sagging", severe=True)
    out = feed(policy, [sag, sag, sag, sag, worse, worse])
    assert [c.speak for c in out] == [False, True, False, False, True, False]
    # a new set: said again
    out = feed(policy, [worse])
    assert out[0].speak and out[0].rep == 1


def test_the_cue_names_the_body_part_to_highlight():
    out = feed(CuePolicy(), [rep("squat", "go_deeper", severe=True)])
    body = out[0].to_json()["body"]
    assert body == {"points": ["hip", "knee"], "segments": [["hip", "knee"]]}
    out = feed(CuePolicy(), [rep("pushup", "hips_sagging", severe=True)])
    assert out[0].to_json()["body"]["points"] == ["hip"]


def test_rep_ranges():
    assert rep_ranges([4]) == "rep 4"
    assert rep_ranges([5, 6, 7, 8]) == "reps 5-8"
    assert rep_ranges([1, 2, 3, 5]) == "reps 1-3 and 5"
    assert rep_ranges([7, 1, 3, 4]) == "reps 1, 3-4 and 7"


def test_set_summary_in_plain_words():
    squats = [[], ["go_deeper"], [], [], [], [], ["go_deeper"], []]
    assert set_summary("squat", squats) == ["6 of 8 reps to depth"]
    pushups = [
        [],
        [],
        [],
        [],
        ["hips_sagging"],
        ["hips_sagging"],
        ["hips_sagging"],
        ["go_lower", "hips_sagging"],
    ]
    assert set_summary("pushup", pushups) == [
        "7 of 8 reps to depth",
        "hips sagged on reps 5-8",
    ]
    assert set_summary("squat", [[], [], []]) == ["Good form on all 3 reps"]
    assert set_summary("squat", []) == []
